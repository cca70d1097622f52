"""What the engine pool (engine/pool.py) counts a process as holding, measured: the memory it
alone holds (its KV cache and buffers, and the weights where llama.cpp has copied them into a
buffer of its own, as its CPU_REPACK does), apart from the model file's pages, which every
process of the file maps and which the pool counts once per file; and the RAM the pool may
take in all.
"""

from __future__ import annotations

import sys

import psutil

from desktop.models.fit import RAM_HEADROOM_BYTES
from desktop.models.machine import machine_memory


def private_bytes(pid: int | None) -> int:
    """Memory a process holds that no other process shares, as the OS reports it: on Linux
    and Windows not the model file's mapped pages; on macOS (USS) those too where no other
    process maps them (`private_cost` takes them off)."""
    if pid is None:
        return 0
    try:
        process = psutil.Process(pid)
        if sys.platform.startswith("linux"):
            info = process.memory_info()
            return max(0, info.rss - info.shared)  # RssAnon: not the mapped file
        if sys.platform == "win32":
            return int(process.memory_info().private)
        return int(process.memory_full_info().uss)
    except (psutil.Error, OSError):
        return 0


def private_cost(pid: int | None, *, sole_mapping_of: int) -> int:
    """What a process holds beyond its model file's pages. `sole_mapping_of`: the file's
    size where this process is the only one mapping it (else 0): macOS's USS counts that
    file's pages as the process's own, and the pool counts them apart, once per file."""
    measured = private_bytes(pid)
    if sys.platform == "darwin":
        return max(0, measured - sole_mapping_of)
    return measured


def machine_budget(pids: list[int]) -> int:
    """RAM the engines may take in all: what is available now, plus what the pool's own
    processes already hold privately (it counts them itself), less the headroom."""
    available = machine_memory().ram_available
    return available + sum(private_bytes(pid) for pid in pids) - RAM_HEADROOM_BYTES
