"""The Playground's two costs (issue 6), through Lantern's own Playground service:

1. Token probabilities: decode tok/s of a greedy run with the top-5 alternatives of every
   token, as a ratio of the same run with none. Target: at least 0.8.
2. Side by side: two runs at once, each in its own engine process with 1 thread (what the
   Playground gives each side on a 2-core machine), against the slower of the two run alone
   with 1 thread. Target: the pair takes at most 1.2x.

Runs alternate (with, without, with, ...) so that drift on a noisy machine hits both alike;
the medians are compared.

    .venv/bin/python benchmarks/playground.py MODEL.gguf [--runs 5] [--tokens 128]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

LOGPROBS_TARGET = 0.8
SIDE_BY_SIDE_TARGET = 1.2
# A prompt the starter model keeps going on, so that every run decodes as many tokens.
PROMPT = "Here is a list of the numbers from one to two hundred, in words: one, two, three,"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a GGUF file (the starter model)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="for the probabilities runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lantern-playground-bench-") as home:
        os.environ["LANTERN_HOME"] = home
        from desktop.engine.protocol import Sampling
        from desktop.paths import app_paths
        from desktop.services.app import Lantern
        from desktop.services.playground import LaneRequest
        from desktop.services.playground_parameters import (
            PlaygroundParameters,
            PlaygroundPrompt,
        )
        from desktop.settings import Settings, save_settings

        paths = app_paths()
        # Side by side, the service gives each side half of these: 1 thread each.
        save_settings(paths.settings_file, Settings(threads=args.threads))
        app = Lantern(paths)
        try:
            model = app.models.import_file(args.model)
            playground = app.playground
            prompt = PlaygroundPrompt("raw", prompt=PROMPT)
            sampling = Sampling(max_tokens=args.tokens, temperature=0.0, seed=1)

            def side(alternatives: int) -> LaneRequest:
                return LaneRequest(model.id, PlaygroundParameters(sampling, None, alternatives))

            def decode_rate(alternatives: int) -> float:
                [run] = playground.start(prompt, [side(alternatives)])
                for _progress in run:
                    pass
                assert run.stats is not None and run.status == "complete"
                return run.stats.generation_tokens_per_s

            decode_rate(5)  # load the model, warm the caches
            with_top5, without = [], []
            for _ in range(args.runs):
                with_top5.append(decode_rate(5))
                without.append(decode_rate(0))
            ratio = statistics.median(with_top5) / statistics.median(without)
            print(
                f"decode tok/s with top-5 alternatives: median {statistics.median(with_top5):.1f} "
                f"({', '.join(f'{r:.1f}' for r in with_top5)})"
            )
            print(
                f"decode tok/s without:                 median {statistics.median(without):.1f} "
                f"({', '.join(f'{r:.1f}' for r in without)})"
            )
            verdict = "PASS" if ratio >= LOGPROBS_TARGET else "FAIL"
            print(f"ratio with/without: {ratio:.3f} (target >= {LOGPROBS_TARGET}) {verdict}")

            pair_ratio = _side_by_side(playground, prompt, side(5), args.runs)
            verdict_pair = "PASS" if pair_ratio <= SIDE_BY_SIDE_TARGET else "FAIL"
            print(
                f"side by side / slower alone: {pair_ratio:.3f} "
                f"(target <= {SIDE_BY_SIDE_TARGET}) {verdict_pair}"
            )
            return 0 if verdict == verdict_pair == "PASS" else 1
        finally:
            app.close()


def _side_by_side(playground, prompt, side, runs: int) -> float:  # type: ignore[no-untyped-def]
    """Median over `runs` of: the pair's wall time / the slower side's wall time alone."""

    def run_all(started_runs) -> float:  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        threads = [threading.Thread(target=lambda r=r: [None for _ in r]) for r in started_runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for run in started_runs:
            assert run.status == "complete", run.status
        return time.perf_counter() - began

    # Two sides: each engine gets 1 thread. Alone: each side once more, on its own lane with
    # the same 1 thread (start() with two sides, then only one of them is run).
    run_all(playground.start(prompt, [side, side]))  # load both engines
    ratios = []
    for _ in range(runs):
        pair = run_all(playground.start(prompt, [side, side]))
        alone = []
        for lane in (0, 1):
            runs_started = playground.start(prompt, [side, side])
            alone.append(run_all([runs_started[lane]]))
            for other in runs_started:
                if other is not runs_started[lane]:
                    other.cancel()
                    for _ in other:  # a run cancelled before it starts ends at once
                        pass
        ratios.append(pair / max(alone))
        print(
            f"  pair {pair:.2f} s; alone {alone[0]:.2f} s and {alone[1]:.2f} s -> {ratios[-1]:.3f}"
        )
    return statistics.median(ratios)


if __name__ == "__main__":
    raise SystemExit(main())
