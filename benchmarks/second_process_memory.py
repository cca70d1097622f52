"""What a second engine process of the same model really costs (issue 18), for the pool's
count: a model file's pages are mapped by both processes and held once, unless llama.cpp
copies the weights into a buffer of its own (CPU_REPACK, for the quantizations it repacks
on this CPU).

For each GGUF given: one process loads it and answers once (its KV cache and buffers are
then touched), then a second one does the same. Printed per process: its private memory
(what the pool counts, engine/pool.py private_bytes), its resident size, and the machine's
available memory before and after; and what the pool's count for the second process is.

    .venv/bin/python benchmarks/second_process_memory.py MODEL.gguf [MODEL.gguf ...]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import psutil

from desktop.engine.protocol import GenerationRequest

MB = 1024**2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--context", type=int, default=4096)
    args = parser.parse_args()
    for model in args.models:
        measure(model, args.context)
    return 0


def measure(path: Path, context: int) -> None:
    from desktop.engine.client import EngineClient
    from desktop.engine.pool import private_bytes
    from desktop.engine.protocol import ChatMessage, Sampling
    from desktop.models.fit import MachineMemory, fit_estimate
    from desktop.models.gguf_info import read_gguf_info

    info = read_gguf_info(path)
    estimate = fit_estimate(info.shape, context, MachineMemory(1 << 40, 0))
    print(f"{path.name}: file {info.shape.file_bytes / MB:.0f} MB; estimate at {context:,} "
          f"tokens: KV {estimate.need.kv_cache / MB:.0f} MB, "
          f"buffers {estimate.need.compute / MB:.0f} MB")  # fmt: skip
    with tempfile.TemporaryDirectory() as logs:
        clients = []
        try:
            for number in (1, 2):
                before = psutil.virtual_memory().available
                client = EngineClient(Path(logs) / "engine.log")
                clients.append(client)
                client.load(path, context_length=context, threads=2, shape=info.shape)
                hello = (ChatMessage("user", "Say hello."),)
                with client.generate(
                    GenerationRequest(messages=hello, sampling=Sampling(max_tokens=16))
                ) as s:
                    "".join(s)
                after = psutil.virtual_memory().available
                rss = psutil.Process(client.pid).memory_info().rss
                print(f"  process {number}: private {private_bytes(client.pid) / MB:.0f} MB, "
                      f"resident {rss / MB:.0f} MB; available memory fell by "
                      f"{(before - after) / MB:.0f} MB")  # fmt: skip
            first = private_bytes(clients[0].pid)
            counted = max(estimate.need.kv_cache + estimate.need.compute, first)
            print(f"  the pool counts a second process as {counted / MB:.0f} MB")
        finally:
            for client in clients:
                client.close()


if __name__ == "__main__":
    raise SystemExit(main())
