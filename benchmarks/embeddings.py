"""Embedding throughput through the engine (issue 18): texts per second of
`EngineClient.embed` (the engine process, the pipe, the client's requests of
EMBED_TEXTS_PER_REQUEST texts) over a few hundred passages of 100 to 300 tokens, against
llama-cpp-python's own `Llama.embed` in this process on the same model with the same pooling,
threads, batch (the context: a text's tokens are pooled within one batch) and texts per call.
Target: at least 0.9.

The passages are the repository's own prose (its Markdown files and the docstrings of
desktop/ and tests/), cut between paragraphs, sentences or words to at most 300 tokens by
the model's tokenizer as the documents library cuts a document; those under 100 tokens are
left out. The two alternate call by call (a request's worth of texts through the engine, the
same texts direct, the next texts direct first, ...), so that the load other programs put on a
shared machine hits both alike. The figure is the median over those back-to-back pairs of
direct time / engine time for the same texts (the throughput ratio, least swayed by a burst
of load); each run's texts/s, the ratio of their medians, and the CPU seconds each side spent
a text (the engine's: both processes) are printed beside it. `--contexts 512,1024,2048`
measures each batch size.

    .venv/bin/python benchmarks/embeddings.py MODEL.gguf [--runs 3] [--passages 200]
        [--threads 2] [--contexts 512]
"""

from __future__ import annotations

import argparse
import ast
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

TARGET = 0.9
REPO = Path(__file__).resolve().parent.parent
SHORTEST, LONGEST = 100, 300  # tokens a passage has


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a GGUF file (the starter model)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--passages", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--contexts", default="512", help="comma-separated contexts (batch sizes) to measure"
    )
    args = parser.parse_args()

    import llama_cpp

    from desktop.engine.client import EMBED_TEXTS_PER_REQUEST, EngineClient

    count = _tokenizer(args.model)
    passages = _passages(count, args.passages)
    tokens = sum(count(passage) for passage in passages)
    print(
        f"{len(passages)} passages, {tokens:,} tokens ({tokens / len(passages):.0f} a passage); "
        f"{args.threads} threads, {EMBED_TEXTS_PER_REQUEST} texts a request"
    )
    poolings = {
        "mean": llama_cpp.LLAMA_POOLING_TYPE_MEAN,
        "cls": llama_cpp.LLAMA_POOLING_TYPE_CLS,
        "last": llama_cpp.LLAMA_POOLING_TYPE_LAST,
    }
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="lantern-embeddings-bench-") as folder:
        for context in (int(c) for c in args.contexts.split(",")):
            with EngineClient(Path(folder) / "engine.log") as client:
                loaded = client.load(
                    args.model, context_length=context, threads=args.threads, embedding=True
                )
                assert loaded.pooling is not None
                direct = llama_cpp.Llama(
                    model_path=str(args.model),
                    embedding=True,
                    pooling_type=poolings[loaded.pooling],
                    n_ctx=context,
                    n_batch=context,
                    n_ubatch=context,
                    n_threads=args.threads,
                    n_threads_batch=args.threads,
                    verbose=False,
                )
                try:
                    verdicts.append(
                        _compare(client, direct, passages, EMBED_TEXTS_PER_REQUEST, context, args)
                    )
                finally:
                    direct.close()
    return 0 if all(verdicts) else 1


def _compare(
    client: Any, direct: Any, passages: list[str], per_call: int, context: int, args: Any
) -> bool:
    import psutil

    engine_process = psutil.Process(client.pid)

    def direct_embed(texts: list[str]) -> np.ndarray:
        return np.asarray(direct.embed(texts, normalize=True), dtype=np.float32)

    def measured(is_engine: bool, texts: list[str]) -> tuple[float, float, np.ndarray]:
        """Wall seconds, CPU seconds (this process's, and the engine's for the engine), and
        the vectors."""

        def cpu() -> float:
            engine_cpu = sum(engine_process.cpu_times()[:2]) if is_engine else 0.0
            return time.process_time() + engine_cpu

        cpu_before, started = cpu(), time.perf_counter()
        vectors = client.embed(texts) if is_engine else direct_embed(texts)
        return time.perf_counter() - started, cpu() - cpu_before, vectors

    calls = [passages[i : i + per_call] for i in range(0, len(passages), per_call)]
    client.embed(calls[0])  # warm both: first-use allocations, page cache
    direct_embed(calls[0])
    engine, baseline, pairs = [], [], []
    cpu_s = {True: 0.0, False: 0.0}
    agreement = 1.0
    for run in range(args.runs):
        wall_s = {True: 0.0, False: 0.0}
        for number, call in enumerate(calls):
            results = {}
            for is_engine in (True, False) if (run + number) % 2 == 0 else (False, True):
                results[is_engine] = measured(is_engine, call)
                wall_s[is_engine] += results[is_engine][0]
                cpu_s[is_engine] += results[is_engine][1]
            pairs.append(results[False][0] / results[True][0])
            cosines = (results[True][2] * results[False][2]).sum(axis=1)
            agreement = min(agreement, float(cosines.min()))
        engine.append(len(passages) / wall_s[True])
        baseline.append(len(passages) / wall_s[False])
    ratio = statistics.median(pairs)
    verdict = ratio >= TARGET
    print(f"context (batch) {context} tokens; lowest cosine engine/direct {agreement:.5f}")
    for name, rates in (("through the engine", engine), ("Llama.embed direct", baseline)):
        print(
            f"  texts/s {name}: median {statistics.median(rates):.2f} "
            f"({', '.join(f'{r:.2f}' for r in rates)})"
        )
    print(
        f"  ratio of the run medians: {statistics.median(engine) / statistics.median(baseline):.3f}"
    )
    texts = len(passages) * args.runs
    print(
        f"  CPU seconds a text: engine {cpu_s[True] / texts:.3f} (both processes), direct "
        f"{cpu_s[False] / texts:.3f}; ratio direct/engine {cpu_s[False] / cpu_s[True]:.3f}"
    )
    print(
        f"  ratio engine/direct, median of {len(pairs)} back-to-back calls: {ratio:.3f} "
        f"(target >= {TARGET}) {'PASS' if verdict else 'FAIL'}"
    )
    return verdict


def _passages(count: Any, wanted: int) -> list[str]:
    """The repository's prose cut to at most LONGEST tokens; the first `wanted` of at least
    SHORTEST."""
    from desktop.tasks.chunking import split_into_chunks

    prose = "\n\n".join(_repository_prose())
    cuts = split_into_chunks(prose, LONGEST, count)
    passages = [prose[c.start : c.end].strip() for c in cuts]
    return [p for p in passages if count(p) >= SHORTEST][:wanted]


def _repository_prose() -> list[str]:
    texts = [
        path.read_text(encoding="utf-8")
        for folder in ("", "benchmarks", "packaging", "resources")
        for path in sorted((REPO / folder).glob("**/*.md" if folder else "*.md"))
    ]
    for path in sorted([*REPO.glob("desktop/**/*.py"), *REPO.glob("tests/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                docstring = ast.get_docstring(node)
                if docstring:
                    texts.append(docstring)
    return texts


def _tokenizer(model: Path) -> Any:
    from llama_cpp import Llama

    vocabulary = Llama(model_path=str(model), vocab_only=True, verbose=False)
    return lambda text: len(vocabulary.tokenize(text.encode(), add_bos=False))


if __name__ == "__main__":
    raise SystemExit(main())
