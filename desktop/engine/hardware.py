"""What this machine offers a model: backend, devices, free memory, and how many layers to offload.

The devices are enumerated inside the engine process (the only place llama.cpp is loaded);
this module holds the decisions made from them, so they are testable without a model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

from desktop.engine.protocol import DeviceInfo
from desktop.models.fit import MachineMemory, fit_estimate
from desktop.models.gguf_info import ModelShape


def choose_gpu_layers(
    shape: ModelShape, gpus: list[DeviceInfo], context_length: int, ram_available: int | None = None
) -> int:
    """How many layers to offload (the memory-fit estimate's choice): all of them, the output
    layer included, when weights, KV cache and buffers fit in free GPU memory, else as many
    as do. 0 without a GPU, or when the model fits nowhere (llama.cpp then reports the
    failed allocation as a load error)."""
    if not gpus:
        return 0
    machine = MachineMemory(
        ram_available=psutil.virtual_memory().available if ram_available is None else ram_available,
        gpu_free=sum(d.free_bytes for d in gpus),
        unified=all(d.kind == "igpu" for d in gpus),
    )
    return fit_estimate(shape, context_length, machine).gpu_layers


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
