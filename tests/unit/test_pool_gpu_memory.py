"""The engine pool's GPU arithmetic: GPU memory that a model being loaded is to take is not
offered to another model meanwhile. A GPU cannot run here, so the engine processes are
stand-ins (the outermost boundary: they load nothing) and the machine's memory is given."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

from test_fit import LLAMA_8B, GiB

from desktop.engine.pool import EnginePool, EngineSettings
from desktop.engine.protocol import ModelLoaded
from desktop.models.fit import MachineMemory
from desktop.models.gguf_info import GgufInfo
from desktop.models.installed import InstalledModel

CONTEXT = 4096
GPU_PER_MODEL = 5 * GiB + GiB // 5  # what a loaded stand-in takes of the GPU, as the model would
INFO = GgufInfo("llama", "Llama 8B", "Q4_K_M", 131_072, True, LLAMA_8B)


class StandInEngine:
    """An engine process that loads nothing: its load waits until the test lets it end."""

    loading = threading.Event()  # a load has begun
    may_finish = threading.Event()
    on_gpu: ClassVar[set[StandInEngine]] = set()  # loaded: what the GPU reports as taken

    def __init__(self, _log_file: Path) -> None:
        self.loaded: ModelLoaded | None = None
        self.pid: int | None = None

    def load(self, path: Path, **options: object) -> ModelLoaded:
        StandInEngine.loading.set()
        StandInEngine.may_finish.wait()
        self.loaded = ModelLoaded(1, str(path), CONTEXT, 131_072, 32, 33, True, 0.1)
        StandInEngine.on_gpu.add(self)
        return self.loaded

    def close(self) -> None:
        self.loaded = None
        StandInEngine.on_gpu.discard(self)


def gpu() -> MachineMemory:
    free = 10 * GiB - GPU_PER_MODEL * len(StandInEngine.on_gpu)
    return MachineMemory(ram_available=8 * GiB, gpu_free=free)


def test_gpu_memory_promised_to_a_load_under_way_is_not_offered_again(tmp_path: Path) -> None:
    """10 GiB of GPU memory: one 8B model fits on it whole, not two; the RAM (1 GiB) holds
    neither beside it. While the first loads, the GPU still reports its memory free: the
    second model waits rather than be placed on it too."""
    first = InstalledModel("First", tmp_path / "first.gguf", INFO)
    second = InstalledModel("Second", tmp_path / "second.gguf", INFO)
    asked = threading.Event()

    def budget(_pids: list[int]) -> int:
        asked.set()
        return 1 * GiB

    pool = EnginePool(
        tmp_path / "engine.log",
        EngineSettings(CONTEXT, gpu_layers=-1),
        budget=budget,
        machine=gpu,
        client=StandInEngine,  # type: ignore[arg-type]
    )
    with pool, ThreadPoolExecutor(2) as threads:
        try:
            loading = threads.submit(pool.lease, first)
            StandInEngine.loading.wait()
            asked.clear()
            waiting = threads.submit(pool.lease, second)
            asked.wait()  # the second has looked for room: none, it waits
            assert [e.model_id for e in pool.engines()] == [first.id]
        finally:
            StandInEngine.may_finish.set()  # however the test ends, no load is left waiting
        loading.result(timeout=60).release()
        with waiting.result(timeout=60) as lent:  # the first, idle now, made room for it
            assert lent.loaded.model_path == str(second.path)
        assert [e.model_id for e in pool.engines()] == [second.id]
