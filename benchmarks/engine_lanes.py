"""Chats beside a summary on the same model: the engine pool's lanes (issue 18).

Through the services the CLI and the GUI use (ChatService, SummaryService, one EnginePool):

1. a chat's time to its first token while a summary runs on the same model, against the same
   chats' when nothing else runs (target: at most 1.5x);
2. the summary's throughput (its prompt and generated tokens per second of work) while chats
   happen, against the same summary alone (target: at least 0.8x).

"Chats happen" as a person chats: a question, an answer of up to 64 tokens, then
--pause seconds of reading and typing before the next question.

Two mechanisms are measured: the default, where the pool gives the summary a second process
of the model at the lowest OS priority; and, with --one-process (a memory budget that holds
one process of the model), the chat borrowing the summary's process, which stops at a token
and goes on afterwards.

    .venv/bin/python benchmarks/engine_lanes.py MODEL.gguf [--threads 2] [--one-process]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from sample_documents import chronicle

TTFT_TARGET = 1.5
THROUGHPUT_TARGET = 0.8
QUESTIONS = [
    "Name three colours.",
    "What is a lighthouse for?",
    "Say something kind.",
    "Why is the sea salty?",
    "Give me a word that rhymes with light.",
    "What do bees make?",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a GGUF file (the starter model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--paragraphs", type=int, default=120, help="the summarized document")
    parser.add_argument("--pause", type=float, default=10.0, help="seconds between chats")
    parser.add_argument("--one-process", action="store_true", help="memory for one process")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lantern-lanes-bench-") as home:
        os.environ["LANTERN_HOME"] = home
        from desktop.engine.pool import EnginePool, EngineSettings
        from desktop.models.fit import MachineMemory, fit_estimate
        from desktop.paths import app_paths
        from desktop.services.app import Lantern
        from desktop.services.chat import ChatService
        from desktop.services.summarize import SummaryService
        from desktop.settings import Settings, save_settings

        paths = app_paths()
        settings = Settings(threads=args.threads)
        save_settings(paths.settings_file, settings)
        app = Lantern(paths)
        model = app.models.import_file(args.model)
        context = min(settings.context_length, model.info.context_length)
        engine_settings = EngineSettings(context, settings.threads, settings.gpu_layers)
        if args.one_process:
            roomy = MachineMemory(ram_available=1 << 40, gpu_free=0)
            one = fit_estimate(model.info.shape, context, roomy).in_ram
            pool = EnginePool(paths.logs / "engine.log", engine_settings, budget=lambda _: one)
        else:
            pool = EnginePool(paths.logs / "engine.log", engine_settings)
        chat = ChatService(app.database, app.models, pool, settings)
        summaries = SummaryService(app.database, app.models, pool)
        try:
            first_token(chat, "Hello.")  # loads the model: not counted
            idle = [first_token(chat, q) for q in QUESTIONS]
            # Two documents of one size: a summary of the same text would reuse the notes of
            # the first (services/summarize.py).
            alone = summary_steps(summaries, chronicle(args.paragraphs, seed=1), None)
            during: list[float] = []
            beside = summary_steps(
                summaries,
                chronicle(args.paragraphs, seed=2),
                lambda stop: during.extend(chats(chat, args.pause, stop)),
            )
            engines = pool.engines()
        finally:
            pool.close()
            app.close()

    ttft_ratio = statistics.median(during) / statistics.median(idle)
    # The summary's speed alone (prompt and generated tokens apart), applied to the tokens of
    # the summary made beside the chats: the time it would have taken alone, over its time.
    prefill, decode = speeds(alone["steps"])
    expected = sum(s["prompt_tokens"] / prefill + s["generated_tokens"] / decode
                   for s in beside["steps"])  # fmt: skip
    speed_ratio = expected / beside["work_s"]
    mode = "one process, borrowed" if args.one_process else "a process per lane"
    print(f"mechanism: {mode}; engine processes at the end: {len(engines)}")
    print(f"chat time to first token idle: median {statistics.median(idle) * 1000:.0f} ms "
          f"({', '.join(f'{t * 1000:.0f}' for t in idle)})")  # fmt: skip
    print(f"chat time to first token beside the summary: median "
          f"{statistics.median(during) * 1000:.0f} ms "
          f"({', '.join(f'{t * 1000:.0f}' for t in during)})")  # fmt: skip
    print(f"summary alone: {tokens(alone)} in {alone['work_s']:.1f} s: prefill "
          f"{prefill:.0f} tok/s, decode {decode:.1f} tok/s")  # fmt: skip
    print(f"summary with {len(during)} chats: {tokens(beside)} in {beside['work_s']:.1f} s; "
          f"{expected:.1f} s at the speed it had alone")  # fmt: skip
    ttft_ok = "PASS" if ttft_ratio <= TTFT_TARGET else "FAIL"
    speed_ok = "PASS" if speed_ratio >= THROUGHPUT_TARGET else "FAIL"
    print(f"ratio chat TTFT beside a summary / idle: {ttft_ratio:.2f} "
          f"(target <= {TTFT_TARGET}) {ttft_ok}")  # fmt: skip
    print(f"ratio summary throughput with chats / alone: {speed_ratio:.2f} "
          f"(target >= {THROUGHPUT_TARGET}) {speed_ok}")  # fmt: skip
    return 0


def first_token(chat: Any, question: str) -> float:
    """Seconds from sending `question` (a new conversation) to its answer's first text."""
    started = time.perf_counter()
    turn = chat.send(question, max_tokens=64, temperature=0.0)
    answer = iter(turn)
    next(answer)
    seconds = time.perf_counter() - started
    for _piece in answer:
        pass
    return seconds


def chats(chat: Any, pause: float, stop: threading.Event) -> list[float]:
    """A chat every `pause` seconds until `stop` (the summary has ended)."""
    seconds = []
    for number in range(1000):
        seconds.append(first_token(chat, QUESTIONS[number % len(QUESTIONS)]))
        if stop.wait(pause):
            break
    return seconds


def summary_steps(summaries: Any, document: str, beside: Any) -> dict[str, Any]:
    """Summarize `document`, with `beside(stop)` running in another thread from the first
    step on until the summary ends; its steps' costs and its time of work."""
    from desktop.services.summarize import StepStarted
    from desktop.tasks.documents import SourceText
    from desktop.tasks.summary import SummaryOptions

    run = summaries.summarize(SourceText(document, "chronicle.txt"), SummaryOptions())
    helper: threading.Thread | None = None
    ended = threading.Event()
    for event in run:
        if beside is not None and helper is None and isinstance(event, StepStarted):
            helper = threading.Thread(target=beside, args=(ended,))
            helper.start()
    ended.set()
    if helper is not None:
        helper.join()
    assert run.outcome is not None and run.outcome.status == "complete", run.outcome
    timings = run.outcome.record.timings or {}
    return {"steps": timings["steps"], "work_s": timings["work_s"]}


def speeds(steps: list[dict[str, Any]]) -> tuple[float, float]:
    """Prompt tokens read per second, and tokens generated per second, over the steps."""
    prompt = sum(s["prompt_tokens"] for s in steps) / sum(s["prompt_s"] for s in steps)
    writing = sum(s["seconds"] - s["prompt_s"] for s in steps)
    return prompt, sum(s["generated_tokens"] for s in steps) / writing


def tokens(summary: dict[str, Any]) -> str:
    steps = summary["steps"]
    prompt = sum(s["prompt_tokens"] for s in steps)
    generated = sum(s["generated_tokens"] for s in steps)
    return f"{len(steps)} steps, {prompt:,} prompt and {generated:,} generated tokens"


if __name__ == "__main__":
    raise SystemExit(main())
