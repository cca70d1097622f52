"""Remote decode speed: Lantern's RemoteModel against the official `openai` client, both
streaming from the same OpenAI-compatible server.

Starts llama-cpp-python's own server (`python -m llama_cpp.server`, as the tests do) on the
given GGUF, probes it as adding a remote does, then streams the same chat, greedy, with the
same sampling fields, alternately through
  a) RemoteModel.generate (httpx2, the SSE reader thread, the typed stream the services use);
  b) openai.OpenAI().chat.completions.create(stream=True) (the baseline);
and measures each run's decode speed where the client sees it: chunks after the first over
the time from the first to the last (one token a chunk, as this server streams). Prints the
median of each and the ratio a/b (target: at least 0.95). The answers must be equal.

    .venv/bin/python benchmarks/remote_decode.py MODEL.gguf [--runs 7] [--tokens 128]
        [--threads 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from streamed_chat import chat_chunks, pieces

from desktop.engine.protocol import GenerationRequest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from llama_cpp_server import LlamaCppServer

QUESTION = "Write a short story about a lighthouse keeper and a storm."


def decode_speed(pieces: Iterable[str]) -> tuple[float, str]:
    """Tokens per second after the first one, as the pieces arrive; and the text."""
    times, text = [], []
    for piece in pieces:
        if piece:
            times.append(time.perf_counter())
            text.append(piece)
    if len(times) < 2:
        raise SystemExit("the server sent fewer than 2 tokens: nothing to time")
    return (len(times) - 1) / (times[-1] - times[0]), "".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=128)
    # One by default: a core left to the clients keeps the runs steady (on 2 busy cores, a
    # server on 2 threads swung between 2 and 40 tokens/s from run to run).
    parser.add_argument("--threads", type=int, default=1, help="the server's threads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import openai

    from desktop.engine.protocol import ChatMessage, Sampling
    from desktop.engine.remote import RemoteModel
    from desktop.engine.remote_http import ServerConnection
    from desktop.engine.remote_probe import list_models, probe_server

    sampling = Sampling(max_tokens=args.tokens, temperature=0.0, seed=1)
    messages = (ChatMessage("user", QUESTION),)
    with tempfile.TemporaryDirectory() as scratch:
        server = LlamaCppServer(args.model, Path(scratch) / "server.log", threads=args.threads)
        server.start()
        connection = ServerConnection("bench", server.url, server.api_key)
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.api_key)
        try:
            listing = list_models(connection)
            remote = RemoteModel(
                "bench", connection, probe_server(connection, listing), listing.models[0]
            )

            def through_lantern() -> tuple[float, str]:
                with remote.generate(
                    GenerationRequest(messages=messages, sampling=sampling)
                ) as stream:
                    return decode_speed(stream)

            def through_openai() -> tuple[float, str]:
                return decode_speed(pieces(chat_chunks(client, server.model, QUESTION, sampling)))

            through_lantern(), through_openai()  # warm-up: imports, connections, caches
            speeds: dict[str, list[float]] = {"lantern": [], "openai": []}
            texts: dict[str, set[str]] = {"lantern": set(), "openai": set()}
            for _ in range(args.runs):
                for name, run in (("lantern", through_lantern), ("openai", through_openai)):
                    speed, text = run()
                    speeds[name].append(speed)
                    texts[name].add(text)
        finally:
            client.close()
            connection.close()
            server.stop()

    if texts["lantern"] != texts["openai"] or len(texts["lantern"]) != 1:
        raise SystemExit("the greedy answers differ: the two paths did not ask the same thing")
    medians = {name: statistics.median(runs) for name, runs in speeds.items()}
    result = {
        "model": args.model.name,
        "runs": args.runs,
        "max_tokens": args.tokens,
        "lantern_tok_per_s": round(medians["lantern"], 1),
        "openai_tok_per_s": round(medians["openai"], 1),
        "ratio": round(medians["lantern"] / medians["openai"], 3),
        "lantern_runs": [round(s, 1) for s in speeds["lantern"]],
        "openai_runs": [round(s, 1) for s in speeds["openai"]],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"decode, median of {args.runs} alternating runs of {args.tokens} tokens: "
            f"Lantern {result['lantern_tok_per_s']} tok/s, openai client "
            f"{result['openai_tok_per_s']} tok/s, ratio {result['ratio']} (target >= 0.95)"
        )


if __name__ == "__main__":
    main()
