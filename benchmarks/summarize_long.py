"""Summarizing a long document against the engine's own speed (issue 5).

A generated chronicle of about 20,000 tokens is summarized through `SummaryService` (the path
the CLI and the GUI take: planning with the model's tokenizer, notes on each part, merges,
the summary, the store). Then `lantern bench`'s measurement of the same model and threads
gives the engine's prompt and generation speed on a chat turn, and from it the time the
engine needs for the summary's own prompt and generated tokens:

    expected = sum(prompt tokens) / bench prefill tok/s + sum(generated) / bench decode tok/s

Target: the summary takes at most 1.25x that (no wasted passes, no re-reading). Reported
too: the passes and steps, and the summary's time against the engine's own time for its
steps (what planning, tokenizing and the store add on top of generating).

    .venv/bin/python benchmarks/summarize_long.py MODEL.gguf [--tokens 20000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from sample_documents import chronicle

TARGET_RATIO = 1.25


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a GGUF file (the starter model)")
    parser.add_argument("--tokens", type=int, default=20_000, help="document size, about")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bench-runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lantern-summarize-bench-") as home:
        os.environ["LANTERN_HOME"] = home
        from desktop.paths import app_paths
        from desktop.services.app import Lantern
        from desktop.services.bench import run_bench
        from desktop.settings import Settings, save_settings
        from desktop.tasks.documents import SourceText
        from desktop.tasks.summary import SummaryOptions

        paths = app_paths()
        save_settings(paths.settings_file, Settings(threads=args.threads))
        app = Lantern(paths)
        try:
            model = app.models.import_file(args.model)
            text = _document(app, model, args.tokens)
            run = app.summarize.summarize(SourceText(text, "chronicle.txt"), SummaryOptions())
            started = time.perf_counter()
            for _event in run:
                pass
            wall = time.perf_counter() - started
            assert run.outcome is not None and run.outcome.status == "complete", run.outcome
            timings = run.outcome.record.timings or {}
            steps = timings["steps"]
            work = wall - timings["load_s"]
            engine_own = sum(step["seconds"] for step in steps)
            prompt = sum(step["prompt_tokens"] for step in steps)
            generated = sum(step["generated_tokens"] for step in steps)
            plan = run.plan
            assert plan is not None
            app.engines.unload_idle()  # the bench loads its own engine and a direct baseline
            bench = run_bench(
                app.models, app.settings, paths.logs / "bench.log",
                model_id=model.id, runs=args.bench_runs, threads=args.threads,
            )  # fmt: skip
        finally:
            app.close()

    speed = bench.lantern
    expected = prompt / speed.prefill_tokens_per_s + generated / speed.decode_tokens_per_s
    ratio = work / expected
    print(f"document: {plan.tokens:,} tokens, {plan.words:,} words; context {plan.context_length}")
    print(
        f"plan: {len(plan.chunks)} parts of at most {plan.chunk_tokens:,} tokens; "
        f"passes {timings['passes']} (expected {plan.passes}); steps {len(steps)} "
        f"({', '.join(step['kind'] for step in steps)})"
    )
    print(f"tokens: {prompt:,} prompt, {generated:,} generated")
    print(
        f"lantern bench ({args.threads} threads): prefill {speed.prefill_tokens_per_s:.0f} tok/s, "
        f"decode {speed.decode_tokens_per_s:.1f} tok/s"
    )
    print(f"summary time (model loaded): {work:.1f} s; planning {timings['plan_s']:.2f} s")
    print(f"engine time for the same tokens at bench speed: {expected:.1f} s")
    print(f"engine's own time for the summary's steps: {engine_own:.1f} s "
          f"(summary / own = {work / engine_own:.3f})")  # fmt: skip
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"ratio: {ratio:.3f} (target <= {TARGET_RATIO}) {verdict}")
    return 0


def _document(app: object, model: object, tokens: int) -> str:
    """A chronicle of about `tokens` tokens as the model counts them."""
    with app.summarize.preview_lease(model) as lent:  # type: ignore[attr-defined]
        per_paragraph = lent.count_tokens(chronicle(20)) / 20
    return chronicle(round(tokens / per_paragraph))


if __name__ == "__main__":
    raise SystemExit(main())
