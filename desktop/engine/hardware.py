"""What this machine offers a model: backend, devices, free memory, and how many layers to offload.

The devices are enumerated inside the engine process (the only place llama.cpp is loaded);
this module holds the decisions made from them, so they are testable without a model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

from desktop.engine.protocol import DeviceInfo
from desktop.models.gguf_info import ModelShape

# Room kept free on a GPU for the driver, other programs and allocator slack.
GPU_HEADROOM_FRACTION = 0.10
GPU_HEADROOM_MIN_BYTES = 512 * 1024**2
# llama.cpp's compute buffers, which grow with the batch size rather than the model.
COMPUTE_BUFFER_BYTES = 256 * 1024**2


def choose_gpu_layers(shape: ModelShape, gpus: list[DeviceInfo], context_length: int) -> int:
    """How many layers to offload: all of them when model and KV cache fit, else as many as do.

    Returns 0 when there is no GPU. The per-layer size is the file size spread over the
    repeating layers plus one (the output layer, which is offloaded last).
    """
    if not gpus:
        return 0
    free = sum(d.free_bytes for d in gpus)
    usable = free - max(int(free * GPU_HEADROOM_FRACTION), GPU_HEADROOM_MIN_BYTES)
    usable -= COMPUTE_BUFFER_BYTES
    per_layer = shape.file_bytes / (shape.layers + 1)
    per_layer += shape.kv_cache_bytes(context_length) / max(shape.layers, 1)
    if usable <= 0 or per_layer <= 0:
        return 0
    full = per_layer * (shape.layers + 1)
    if full <= usable:
        return shape.layers + 1
    return max(0, min(shape.layers, int(usable // per_layer)))


def gpu_devices(devices: tuple[DeviceInfo, ...]) -> list[DeviceInfo]:
    return [d for d in devices if d.kind in ("gpu", "igpu")]


def default_threads() -> int:
    """Physical cores: hyper-threads slow llama.cpp's matrix work down rather than up."""
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


@dataclass(frozen=True)
class SystemMemory:
    total_bytes: int
    available_bytes: int


def system_memory() -> SystemMemory:
    vm = psutil.virtual_memory()
    return SystemMemory(total_bytes=vm.total, available_bytes=vm.available)


def backend_name(gpus: list[DeviceInfo]) -> str:
    """'CUDA', 'Metal', 'Vulkan'... from the GPU devices' names ('CUDA0' -> 'CUDA'); else 'CPU'."""
    if not gpus:
        return "CPU"
    return gpus[0].name.rstrip("0123456789") or gpus[0].name
