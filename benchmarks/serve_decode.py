"""Decode speed through `lantern serve` against llama-cpp-python's own server, on the same
GGUF with the same threads and context (issue 20).

`lantern serve` runs as users run it (benchmarks/lantern_served.py: a subprocess on a
temporary home holding the GGUF); llama-cpp-python's server as the remote tests start it
(tests/llama_cpp_server.py). The same greedy chat of a few hundred tokens is streamed from
each by the same `openai` client with the same body (benchmarks/streamed_chat.py),
alternately (Lantern, llama.cpp, Lantern, ...), after a warm-up run on each. Decode speed is
what the client sees: the answer's tokens after the first over the time from its first piece
to its last. The tokens are Lantern's count (its usage chunk; llama_cpp.server sends none),
for both: the answers must be equal. Prints the median of each and the ratio Lantern /
llama.cpp (target: at least 1.0).

    .venv/bin/python benchmarks/serve_decode.py MODEL.gguf [--runs 7] [--tokens 320]
        [--threads 1] [--gpu-layers 0] [--json]

On a GPU, `--gpu-layers -1` offloads every layer in both servers (llama_cpp.server keeps the
model off the GPU unless told).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from lantern_served import lantern_served
from llama_cpp_server import LlamaCppServer
from remote_decode import QUESTION  # the starter model writes on past 400 tokens, greedy
from streamed_chat import TimedAnswer, timed_chat

TARGET = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--runs", type=int, default=7, help="each server's, alternating")
    parser.add_argument("--tokens", type=int, default=320, help="the answer's max_tokens")
    # One by default, as in remote_decode.py: a core left to the servers' Python and the
    # client keeps runs steady on a 2-core machine.
    parser.add_argument("--threads", type=int, default=1, help="both engines' threads")
    parser.add_argument("--gpu-layers", type=int, default=0, help="both engines'; -1: all")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import openai

    from desktop.engine.protocol import Sampling

    sampling = Sampling(max_tokens=args.tokens, temperature=0.0, seed=1)
    answers: dict[str, list[TimedAnswer]] = {"lantern": [], "llama_cpp": []}
    with (
        tempfile.TemporaryDirectory() as scratch,
        lantern_served(args.model, threads=args.threads, gpu_layers=args.gpu_layers) as served,
    ):
        llama = LlamaCppServer(
            args.model,
            Path(scratch) / "server.log",
            threads=args.threads,
            gpu_layers=args.gpu_layers,
        )
        llama.start()
        lantern_client = served.client()
        llama_client = openai.OpenAI(base_url=f"{llama.url}/v1", api_key=llama.api_key)
        try:
            asks = {
                "lantern": lambda: timed_chat(
                    lantern_client, served.model_id, QUESTION, sampling, usage=True
                ),
                "llama_cpp": lambda: timed_chat(
                    llama_client, llama.model, QUESTION, sampling, usage=True
                ),
            }
            for ask in asks.values():  # warm-up: the model loaded, imports, connections
                ask()
            for _ in range(args.runs):
                for name, ask in asks.items():
                    answers[name].append(ask())
        finally:
            lantern_client.close()
            llama_client.close()
            llama.stop()

    texts = {answer.text for runs in answers.values() for answer in runs}
    if len(texts) != 1:
        raise SystemExit("the greedy answers differ: the two servers did not ask the same thing")
    counts = {answer.completion_tokens for answer in answers["lantern"]}
    if len(counts) != 1 or None in counts:
        raise SystemExit(f"Lantern's token counts: {counts}; one count was expected")
    [tokens] = counts
    assert tokens is not None
    speeds = {
        name: [answer.decode_tok_per_s(tokens) for answer in runs] for name, runs in answers.items()
    }
    medians = {name: statistics.median(runs) for name, runs in speeds.items()}
    ratio = medians["lantern"] / medians["llama_cpp"]
    result = {
        "model": args.model.name,
        "threads": args.threads,
        "gpu_layers": args.gpu_layers,
        "runs": args.runs,
        "answer_tokens": tokens,
        "lantern_serve_tok_per_s": round(medians["lantern"], 1),
        "llama_cpp_server_tok_per_s": round(medians["llama_cpp"], 1),
        "ratio": round(ratio, 3),
        "target": TARGET,
        "pass": ratio >= TARGET,
        "lantern_serve_runs": [round(s, 1) for s in speeds["lantern"]],
        "llama_cpp_server_runs": [round(s, 1) for s in speeds["llama_cpp"]],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"decode through each server, {args.runs} alternating runs of a {tokens}-token "
        f"greedy answer, {args.threads} thread(s):"
    )
    for name, label in (("lantern", "lantern serve"), ("llama_cpp", "llama_cpp.server")):
        runs = ", ".join(f"{s:.1f}" for s in speeds[name])
        print(f"  {label}: median {medians[name]:.1f} tok/s ({runs})")
    verdict = "PASS" if result["pass"] else "FAIL"
    print(f"ratio lantern serve / llama_cpp.server: {ratio:.3f} (target >= {TARGET}) {verdict}")


if __name__ == "__main__":
    main()
