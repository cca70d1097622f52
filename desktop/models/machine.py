"""This machine's memory as the fit estimate sees it, read without loading llama.cpp: free
RAM (psutil), free VRAM of NVIDIA GPUs (NVML), and Apple silicon's unified memory."""

from __future__ import annotations

import logging
import platform
import sys

import psutil

from desktop.models.fit import MachineMemory

log = logging.getLogger(__name__)
# Metal lets one process use about this share of unified memory (its recommended working set).
APPLE_GPU_SHARE = 0.75


def machine_memory() -> MachineMemory:
    memory = psutil.virtual_memory()
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return MachineMemory(
            ram_available=memory.available,
            gpu_free=min(memory.available, int(memory.total * APPLE_GPU_SHARE)),
            unified=True,
        )
    return MachineMemory(ram_available=memory.available, gpu_free=nvidia_free_bytes())


def nvidia_free_bytes() -> int:
    """Free memory summed over NVIDIA GPUs; 0 without a driver or GPU."""
    try:
        import pynvml  # from nvidia-ml-py: the driver's own library, no CUDA toolkit needed

        pynvml.nvmlInit()
    except Exception as exc:  # no libnvidia-ml: no NVIDIA GPU here
        log.debug("NVML unavailable: %s", exc)
        return 0
    try:
        return sum(
            int(pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(i)).free)
            for i in range(pynvml.nvmlDeviceGetCount())
        )
    except Exception as exc:
        log.warning("Could not read NVIDIA GPU memory: %s", exc)
        return 0
    finally:
        pynvml.nvmlShutdown()
