"""`lantern bench`: Lantern's generation speed against llama-cpp-python used directly, on the
same model and settings: the cost of the engine process and its protocol."""

from __future__ import annotations

import argparse
import sys

from desktop.cli.arguments import Commands, positive_int
from desktop.cli.output import open_lantern, print_json


def add_commands(commands: Commands) -> None:
    bench = commands.add_parser("bench", help="Lantern's speed against llama-cpp-python direct")
    bench.add_argument("--model", help="installed model id")
    bench.add_argument("--runs", type=positive_int, default=5)
    bench.add_argument("--max-tokens", type=positive_int, default=256)
    bench.add_argument("--threads", type=positive_int)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=_bench)


def _bench(args: argparse.Namespace) -> int:
    from desktop.services.bench import run_bench

    app = open_lantern()
    print("Running the benchmark (this takes a minute)...", file=sys.stderr)
    report = run_bench(
        app.models,
        app.settings,
        app.paths.logs / "engine.log",
        model_id=args.model,
        runs=args.runs,
        max_tokens=args.max_tokens,
        threads=args.threads,
    )
    if args.json:
        print_json(report.as_dict())
        return 0
    print(
        f"Model {report.model_id} · {report.backend} · {report.threads} threads · "
        f"{report.gpu_layers} GPU layers · median of {report.runs} runs\n"
    )
    print(f"{'':28}{'Lantern (a)':>14}{'direct (b)':>14}{'a/b':>8}")
    rows = [
        ("prompt tokens", "prompt_tokens", "{:.0f}", None),
        ("generated tokens", "generated_tokens", "{:.0f}", None),
        ("time to first token (s)", "time_to_first_token_s", "{:.3f}", None),
        ("prefill tok/s", "prefill_tokens_per_s", "{:.1f}", report.prefill_ratio),
        ("decode tok/s", "decode_tokens_per_s", "{:.1f}", report.decode_ratio),
    ]
    for label, key, fmt, ratio in rows:
        a, b = getattr(report.lantern, key), getattr(report.direct, key)
        tail = f"{ratio:>8.3f}" if ratio is not None else ""
        print(f"{label:28}{fmt.format(a):>14}{fmt.format(b):>14}{tail}")
    return 0
