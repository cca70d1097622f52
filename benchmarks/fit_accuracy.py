"""The memory-fit estimate against what llama.cpp allocates, by its own log, on real models.

    .venv/bin/python benchmarks/fit_accuracy.py MODEL.gguf [MODEL.gguf ...] [--ctx 512,2048,8192]

Loads each model on the CPU at each context, reads llama.cpp's "buffer size" lines (model,
KV cache, compute, output) and prints them beside `desktop.models.fit.memory_need`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from desktop.models.fit import memory_need
from desktop.models.gguf_info import read_gguf_info

BUFFER = re.compile(r"(model|KV|compute|output) buffer size =\s+([\d.]+) MiB")


def llama_cpp_buffers(path: Path, context: int) -> dict[str, float]:
    """MiB per buffer kind, summed over devices, from llama.cpp's verbose log."""
    from llama_cpp import Llama

    with tempfile.TemporaryFile() as log:
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            Llama(model_path=str(path), n_ctx=context, n_threads=2, verbose=True).close()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        text = log.read().decode(errors="replace")
    sizes: dict[str, float] = {}
    for kind, mib in BUFFER.findall(text):
        sizes[kind] = sizes.get(kind, 0.0) + float(mib)
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--ctx", default="512,2048,8192")
    args = parser.parse_args()
    print(f"{'model':32} {'ctx':>6} {'llama.cpp MiB':>14} {'estimate MiB':>13} {'error':>7}")
    for path in args.models:
        shape = read_gguf_info(path).shape
        for context in (int(c) for c in args.ctx.split(",")):
            actual = sum(llama_cpp_buffers(path, context).values())
            estimate = memory_need(shape, context).total / 1024**2
            error = (estimate - actual) / actual
            name = path.name[:32]
            print(f"{name:32} {context:>6} {actual:>14.2f} {estimate:>13.2f} {error:>+7.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
