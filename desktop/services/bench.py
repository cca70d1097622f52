"""`lantern bench`: the same chat turn through Lantern's whole path and through
llama-cpp-python directly, and the ratio of the two. For a remote server's model, the
baseline is the same request streamed straight off the server (engine/remote_baseline.py).

(a) Lantern: ChatService.send -> engine process -> IPC -> service -> store flushes, timed
    where the CLI or GUI receives the text.
(b) Direct: llama-cpp-python's create_chat_completion(stream=True) in one process.
Both load the same file with the same context, threads and offload, run the same greedy
prompts in the same order (so their prompt caches behave alike), interleaved a, b, a, b...
"""

from __future__ import annotations

import contextlib
import multiprocessing
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from desktop.engine.baseline import run_baseline
from desktop.engine.pool import EnginePool, EngineSettings
from desktop.models.installed import InstalledModel
from desktop.services.chat import ChatService
from desktop.services.models import ModelService
from desktop.services.remotes import RemoteService

if TYPE_CHECKING:
    from desktop.services.models import RunnableModel
from desktop.settings import Settings
from desktop.store.db import Database

PASSAGE = (
    "The lighthouse keeper kept a log of every ship that passed the point: its name, its flag, "
    "the hour, the weather and the state of the sea. Over forty years the log grew to thirty "
    "volumes, and the keeper's daughter, who took over the light when he grew too old to climb "
    "the stairs, began to read them from the first page. She found storms that nobody in the "
    "village remembered, ships that never reached the harbour, and a winter when the bay froze "
    "so hard that children walked out to the rocks. She decided to write the story of the point "
    "from those pages, one chapter for each decade, in the plain words her father had used."
)


def bench_prompt(run: int) -> str:
    # The run number first, so no run reuses the previous run's prompt cache beyond the template.
    return (
        f"Request {run}. Read this passage and then continue the story at length.\n\n"
        + "\n\n".join([PASSAGE] * 3)
    )


@dataclass(frozen=True)
class PathFigures:
    prompt_tokens: int
    generated_tokens: int
    time_to_first_token_s: float
    prefill_tokens_per_s: float
    decode_tokens_per_s: float


@dataclass(frozen=True)
class BenchReport:
    model_id: str
    threads: int
    gpu_layers: int
    backend: str
    runs: int
    max_tokens: int
    lantern: PathFigures
    direct: PathFigures
    decode_ratio: float
    prefill_ratio: float | None  # None: the server counts no prompt tokens (a remote's)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _figures(
    started: float, first_at: float, ended: float, prompt: int, generated: int
) -> PathFigures:
    ttft = max(first_at - started, 1e-9)
    return PathFigures(
        prompt_tokens=prompt,
        generated_tokens=generated,
        time_to_first_token_s=ttft,
        prefill_tokens_per_s=prompt / ttft,
        decode_tokens_per_s=(generated - 1) / (ended - first_at) if generated > 1 else 0.0,
    )


def _median(figures: list[PathFigures]) -> PathFigures:
    return PathFigures(
        prompt_tokens=figures[0].prompt_tokens,
        generated_tokens=int(statistics.median(f.generated_tokens for f in figures)),
        time_to_first_token_s=statistics.median(f.time_to_first_token_s for f in figures),
        prefill_tokens_per_s=statistics.median(f.prefill_tokens_per_s for f in figures),
        decode_tokens_per_s=statistics.median(f.decode_tokens_per_s for f in figures),
    )


def run_bench(
    models: ModelService,
    settings: Settings,
    log_file: Path,
    *,
    model_id: str | None = None,
    runs: int = 5,
    max_tokens: int = 256,
    threads: int | None = None,
) -> BenchReport:
    from desktop.engine.hardware import default_threads

    model = models.choose(model_id)
    threads = threads or settings.threads or default_threads()
    settings = replace(settings, threads=threads)
    sampling = {"max_tokens": max_tokens, "temperature": 0.0, "top_p": settings.top_p, "seed": 1}
    engine_settings = EngineSettings(settings.context_length, threads, settings.gpu_layers)
    with (
        tempfile.TemporaryDirectory(prefix="lantern-bench-") as scratch,
        EnginePool(log_file, engine_settings) as engines,
        contextlib.ExitStack() as closing,  # the store and the baseline, on every way out
    ):
        db = Database(Path(scratch) / "bench.sqlite3")  # the store is flushed as in real use
        closing.callback(db.close)
        chat = ChatService(db, models, engines, settings)
        with chat.lease(model) as lease:  # loaded now; each turn is then lent the same process
            loaded = lease.loaded
        direct: _Baseline
        if isinstance(model, InstalledModel):
            backend = engines.probe_hardware().backend
            direct = _DirectBaseline(model.path, loaded.context_length, threads, loaded.gpu_layers)
        else:
            assert models.remotes is not None  # a remote model came from them
            backend, direct = _remote_baseline(models.remotes, model.id)
        closing.callback(direct.close)
        lantern_runs, direct_runs = [], []
        for run in range(runs + 1):  # run 0 warms both up and is not counted
            text = bench_prompt(run)
            a = _lantern_turn(chat, model, text, max_tokens)
            b = direct.chat([{"role": "user", "content": text}], sampling)
            if run:
                lantern_runs.append(a)
                # A server that does not count the prompt read the same one as Lantern.
                prompt = b["prompt_tokens"] or a.prompt_tokens
                direct_runs.append(
                    _figures(b["started"], b["first_at"], b["ended"], prompt, b["generated_tokens"])
                )
    lantern, baseline = _median(lantern_runs), _median(direct_runs)
    return BenchReport(
        model_id=model.id,
        threads=threads,
        gpu_layers=loaded.gpu_layers,
        backend=backend,
        runs=runs,
        max_tokens=max_tokens,
        lantern=lantern,
        direct=baseline,
        decode_ratio=lantern.decode_tokens_per_s / baseline.decode_tokens_per_s,
        prefill_ratio=(
            lantern.prefill_tokens_per_s / baseline.prefill_tokens_per_s
            if baseline.prefill_tokens_per_s
            else None
        ),
    )


def _lantern_turn(
    chat: ChatService, model: RunnableModel, text: str, max_tokens: int
) -> PathFigures:
    started = time.perf_counter()
    turn = chat.send(text, model_id=model.id, max_tokens=max_tokens, temperature=0.0)
    first_at = None
    for _piece in turn:
        if first_at is None:
            first_at = time.perf_counter()
    ended = time.perf_counter()
    assert turn.outcome is not None and turn.outcome.stats is not None
    stats = turn.outcome.stats
    return _figures(started, first_at or ended, ended, stats.prompt_tokens, stats.generated_tokens)


class _Baseline(Protocol):
    """An answer's timings and token counts (engine/baseline.py's or remote_baseline.py's)."""

    def chat(self, messages: list[dict[str, str]], sampling: dict[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


def _remote_baseline(remotes: RemoteService, model_id: str) -> tuple[str, _Baseline]:
    """(what serves it, the baseline) for a remote's model: the same server, asked directly."""
    from desktop.engine.remote_baseline import RemoteBaseline
    from desktop.models.remotes import split_remote_model_id

    split = split_remote_model_id(model_id)
    assert split is not None
    name, served = split
    return f"remote {name}", RemoteBaseline(remotes.own_connection(name), served)


class _DirectBaseline:
    def __init__(
        self, model_path: Path, context_length: int, threads: int, gpu_layers: int
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=run_baseline,
            args=(child, str(model_path), context_length, threads, gpu_layers),
            daemon=True,
        )
        self._process.start()
        child.close()

    def chat(self, messages: list[dict[str, str]], sampling: dict[str, Any]) -> dict[str, Any]:
        self._conn.send((messages, sampling))
        answer: dict[str, Any] = self._conn.recv()
        return answer

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()
