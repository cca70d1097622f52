"""Eight short requests at once through `lantern serve`, against the same eight one by one
(issue 20).

`lantern serve` runs as users run it (benchmarks/lantern_served.py: a subprocess on a
temporary home holding the GGUF). Eight greedy chats with different questions, max_tokens 32,
streamed by the `openai` client (benchmarks/streamed_chat.py): one by one, then all eight at
once from eight threads, each round; the total is from the first request sent to the last
answer's end. Every answer must come whole, with text, and the same at once as one by one
(greedy: the server's queue must not change what is written). The server serves one
generation per model at a time, the others waiting their turn, so at once takes about as
long as one by one; the target is at most 1.1x. Prints the median totals over the rounds
and their ratio, and each request's time to first token at once (its wait in the queue).

    .venv/bin/python benchmarks/serve_concurrent.py MODEL.gguf [--rounds 3] [--tokens 32]
        [--threads 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engine_lanes import QUESTIONS as LANE_QUESTIONS
from lantern_served import lantern_served
from streamed_chat import TimedAnswer, timed_chat

TARGET = 1.1
# engine_lanes.py's short questions, and two more: eight at once.
QUESTIONS = [*LANE_QUESTIONS, "How many legs does a spider have?", "What is the capital of France?"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--rounds", type=int, default=3, help="one by one, then at once, each")
    parser.add_argument("--tokens", type=int, default=32, help="each answer's max_tokens")
    # One by default, as in serve_decode.py: a core left to the server's Python and the
    # clients on a 2-core machine.
    parser.add_argument("--threads", type=int, default=1, help="the engine's threads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from desktop.engine.protocol import Sampling

    sampling = Sampling(max_tokens=args.tokens, temperature=0.0, seed=1)
    totals: dict[str, list[float]] = {"one_by_one": [], "at_once": []}
    answers: dict[str, list[list[TimedAnswer]]] = {"one_by_one": [], "at_once": []}
    with (
        lantern_served(args.model, threads=args.threads) as served,
        ThreadPoolExecutor(len(QUESTIONS)) as clients,
    ):
        client = served.client()  # thread-safe: its pool has a connection for each thread

        def ask(question: str) -> TimedAnswer:
            return timed_chat(client, served.model_id, question, sampling, usage=True)

        def one_by_one() -> list[TimedAnswer]:
            return [ask(question) for question in QUESTIONS]

        def at_once() -> list[TimedAnswer]:
            return list(clients.map(ask, QUESTIONS))

        ask(QUESTIONS[0])  # warm-up: the model loaded, imports, connections
        try:
            for _ in range(args.rounds):
                for name, run in (("one_by_one", one_by_one), ("at_once", at_once)):
                    start = time.perf_counter()
                    answered = run()
                    totals[name].append(time.perf_counter() - start)
                    answers[name].append(answered)
        finally:
            client.close()

    check(answers, args.tokens)
    medians = {name: statistics.median(runs) for name, runs in totals.items()}
    ratio = medians["at_once"] / medians["one_by_one"]
    waits = [answer.first_token_s for answer in answers["at_once"][-1]]
    result = {
        "model": args.model.name,
        "threads": args.threads,
        "rounds": args.rounds,
        "requests": len(QUESTIONS),
        "max_tokens": args.tokens,
        "one_by_one_s": round(medians["one_by_one"], 2),
        "at_once_s": round(medians["at_once"], 2),
        "ratio": round(ratio, 3),
        "target": TARGET,
        "pass": ratio <= TARGET,
        "one_by_one_runs_s": [round(t, 2) for t in totals["one_by_one"]],
        "at_once_runs_s": [round(t, 2) for t in totals["at_once"]],
        "at_once_first_token_s": sorted(round(t, 2) for t in waits),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{len(QUESTIONS)} greedy chats of up to {args.tokens} tokens, {args.rounds} rounds, "
        f"{args.threads} thread(s); all answered, the same at once as one by one"
    )
    for name, label in (("one_by_one", "one by one"), ("at_once", "at once")):
        runs = ", ".join(f"{t:.2f}" for t in totals[name])
        print(f"  {label}: median {medians[name]:.2f} s ({runs})")
    print(f"  first tokens at once (last round), s: {result['at_once_first_token_s']}")
    verdict = "PASS" if result["pass"] else "FAIL"
    print(f"ratio at once / one by one: {ratio:.3f} (target <= {TARGET}) {verdict}")


def check(answers: dict[str, list[list[TimedAnswer]]], max_tokens: int) -> None:
    """Every answer whole and with text, and each question's the same in every run."""
    for runs in answers.values():
        for answered in runs:
            for question, answer in zip(QUESTIONS, answered, strict=True):
                if not answer.text.strip() or not answer.completion_tokens:
                    raise SystemExit(f"no answer to {question!r}")
                if answer.completion_tokens > max_tokens:
                    raise SystemExit(f"{question!r}: {answer.completion_tokens} tokens")
    for index, question in enumerate(QUESTIONS):
        texts = {answered[index].text for runs in answers.values() for answered in runs}
        if len(texts) != 1:
            raise SystemExit(f"{question!r} was answered differently: {texts}")


if __name__ == "__main__":
    main()
