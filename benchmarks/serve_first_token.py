"""Time to first token through `lantern serve` against the engine directly (issue 20).

One home, one GGUF, the same threads (benchmarks/lantern_served.py): `lantern serve` runs as
users run it, a subprocess, and the same home is open in this process. The same short
greedy chat is asked three ways, after a warm-up of each (the model is loaded in both engine
processes, every path is warm):
  server:  streamed through `lantern serve` by the `openai` client (benchmarks/streamed_chat.py),
           from the call to the first chunk with text;
  service: `ServingService.generate` in this process, the server's own service without HTTP,
           to its first piece with text;
  engine:  the engine pool in this process, leased as the service leases it (interactive
           lane, task "api"), with the request the service makes of a seeded greedy chat
           (the prompt read afresh, never shortened), to its first text.
In the order server, engine, server, service, ...: each engine process (the server's, this
one's) then rests for one run between two of its own, as an engine left idle longer is
slower to start (its threads asleep, its caches cold).
Prints each one's median and the difference server - engine (target: at most 20 ms), and
what the service adds to the engine and the HTTP server to the service.

    .venv/bin/python benchmarks/serve_first_token.py MODEL.gguf [--runs 15] [--threads 1]
        [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from lantern_served import ServedHome, lantern_served
from streamed_chat import timed_chat

TARGET_MS = 20.0
QUESTION = "What is a lighthouse for? Answer in one sentence."
TOKENS = 8  # the first one is timed; a few more end each run as a real answer does


def first_text_after(start: float, pieces: Iterable[str]) -> float:
    """Seconds from `start` to the first piece with text; the rest is read to the end."""
    first = None
    for piece in pieces:
        if piece and first is None:
            first = time.perf_counter()
    if first is None:
        raise SystemExit("no text came")
    return first - start


def paths(served: ServedHome) -> dict[str, Callable[[], float]]:
    """Each way of asking, as a function that asks once and returns its time to first token."""
    from desktop.engine.protocol import ChatMessage, GenerationRequest, Sampling
    from desktop.services.serving import TASK, GenerationAsk

    sampling = Sampling(max_tokens=TOKENS, temperature=0.0, seed=1)
    messages = (ChatMessage("user", QUESTION),)
    client, model = served.client(), served.app.models.get(served.model_id)
    # What streamed_chat.chat_chunks sends, as the service reads it from the request body.
    sent = ("temperature", "top_p", "seed", "top_k", "min_p", "repeat_penalty")
    ask = GenerationAsk(
        served.model_id,
        messages=messages,
        sampling={name: getattr(sampling, name) for name in sent},
        max_tokens=TOKENS,
    )
    request = GenerationRequest(
        messages=messages, sampling=sampling, reuse_cached_prompt=False, context_policy="stop"
    )

    def server() -> float:
        return timed_chat(client, served.model_id, QUESTION, sampling).first_token_s

    def service() -> float:
        start = time.perf_counter()
        generation = served.app.serving.generate(ask)
        return first_text_after(start, (piece.text for piece in generation))

    def engine() -> float:
        start = time.perf_counter()
        with (
            served.app.engines.lease(model, "interactive", TASK) as lent,
            lent.generate(request) as stream,
        ):
            return first_text_after(start, stream)

    return {"server": server, "service": service, "engine": engine}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--runs", type=int, default=15, help="the engine's and the service's")
    # One by default, as in serve_decode.py: a core left to the server's Python and the
    # client on a 2-core machine.
    parser.add_argument("--threads", type=int, default=1, help="the engines' threads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    times: dict[str, list[float]] = {}
    with lantern_served(args.model, threads=args.threads) as served:
        asks = paths(served)
        for ask in asks.values():  # warm-up: both engine processes load the model
            ask()
        for _ in range(args.runs):
            for name in ("server", "engine", "server", "service"):
                times.setdefault(name, []).append(asks[name]() * 1000)

    medians = {name: statistics.median(runs) for name, runs in times.items()}
    difference = medians["server"] - medians["engine"]
    result = {
        "model": args.model.name,
        "threads": args.threads,
        "runs": args.runs,
        **{f"{name}_ms": round(median, 1) for name, median in medians.items()},
        "server_minus_engine_ms": round(difference, 1),
        "service_minus_engine_ms": round(medians["service"] - medians["engine"], 1),
        "server_minus_service_ms": round(medians["server"] - medians["service"], 1),
        "target_ms": TARGET_MS,
        "pass": difference <= TARGET_MS,
        **{f"{name}_runs_ms": [round(t, 1) for t in runs] for name, runs in times.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"time to first token, {2 * args.runs} runs through the server, {args.runs} through "
        f"the service and the engine, {args.threads} thread(s):"
    )
    for name, label in (
        ("server", "lantern serve (openai client, streamed)"),
        ("service", "ServingService in-process"),
        ("engine", "engine pool in-process"),
    ):
        runs = ", ".join(f"{t:.0f}" for t in times[name])
        print(f"  {label}: median {medians[name]:.1f} ms ({runs})")
    print(
        f"  of which the service adds {result['service_minus_engine_ms']} ms, HTTP and the "
        f"server {result['server_minus_service_ms']} ms"
    )
    verdict = "PASS" if result["pass"] else "FAIL"
    print(f"server - engine: {difference:.1f} ms (target <= {TARGET_MS:g} ms) {verdict}")


if __name__ == "__main__":
    main()
