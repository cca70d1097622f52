"""Searching a large library: how long `DocumentStore.search` takes, hybrid, vector-only and
keyword-only.

Builds (once, cached by size in the temp folder) a Lantern database with one library of N
passages of about 1,000 characters, in files of 100, saved through `DocumentStore.save_passages`
(the real schema, FTS5 triggers and sqlite-vec table), with text drawn from a Zipf-like
vocabulary (some words everywhere, most rare) and random unit vectors of dimension 384 (that of
all-MiniLM-L6-v2). Then runs Q queries of 2 to 5 words and a random unit vector, limit 5, in
each mode. Target (issue 19): p95 under 50 ms at 100,000 passages.

    .venv/bin/python benchmarks/docs_search.py [--passages 100000] [--queries 200] [--json]
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from history_search import VOCABULARY, words

from desktop.store.db import Database
from desktop.store.documents import DocumentStore, NewPassage

DIMENSION = 384
PER_FILE = 100
PASSAGE_CHARS = 1_000
EMBEDDER = "benchmark-embedder"
MODES = ("hybrid", "vector", "keyword")


class ZipfWords:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.words = words(rng)  # the made-up vocabulary of the history benchmark
        self._cumulative = list(itertools.accumulate(1 / rank for rank in range(1, VOCABULARY + 1)))

    def pick(self) -> str:
        at = self._rng.random() * self._cumulative[-1]
        return self.words[bisect.bisect_left(self._cumulative, at)]

    def passage(self) -> str:
        words: list[str] = []
        length = 0
        while length < PASSAGE_CHARS:
            words.append(self.pick())
            length += len(words[-1]) + 1
        return " ".join(words)


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build_library(path: Path, passages: int, seed: int = 19) -> tuple[DocumentStore, int]:
    """The store at `path` with its one library (built unless it is there already)."""
    fresh = not path.exists()
    store = DocumentStore(Database(path))
    if not fresh:
        return store, store.library("Benchmark").id
    library = store.create_library("Benchmark")
    source = store.add_source(library.id, "/benchmark", is_folder=True)
    words, vectors_rng = ZipfWords(random.Random(seed)), np.random.default_rng(seed)
    started = time.perf_counter()
    for number in range(-(-passages // PER_FILE)):
        count = min(PER_FILE, passages - number * PER_FILE)
        file = store.note_file(source.id, f"/benchmark/{number}.txt", size=1, mtime_ns=1)
        texts = [words.passage() for _ in range(count)]
        offsets = list(itertools.accumulate((len(t) + 2 for t in texts), initial=0))
        store.save_passages(
            file.id,
            sha256="0" * 64,
            embedder_key=EMBEDDER,
            size=1,
            mtime_ns=1,
            passages=[
                NewPassage(offsets[i], offsets[i] + len(t), None, f"Part {i}", t)
                for i, t in enumerate(texts)
            ],
            vectors=unit_vectors(vectors_rng, count),
        )
    print(f"built {passages} passages in {time.perf_counter() - started:.0f} s: {path}")
    return store, library.id


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    path = Path(tempfile.gettempdir()) / f"lantern-docs-search-{args.passages}.sqlite3"
    store, library_id = build_library(path, args.passages)
    rng = random.Random(5)
    words = ZipfWords(random.Random(19))
    vectors = unit_vectors(np.random.default_rng(5), args.queries)
    queries = [
        " ".join(words.pick() for _ in range(rng.randint(2, 5))) for _ in range(args.queries)
    ]
    results: dict[str, dict[str, float]] = {}
    for mode in MODES:
        store.search(
            queries[0],
            vectors[0],
            embedder_key=EMBEDDER,
            library_ids=[library_id],
            limit=args.limit,
            mode=mode,
        )  # warm the page cache once
        times = []
        for query, vector in zip(queries, vectors, strict=True):
            started = time.perf_counter()
            store.search(
                query,
                vector,
                embedder_key=EMBEDDER,
                library_ids=[library_id],
                limit=args.limit,
                mode=mode,
            )
            times.append((time.perf_counter() - started) * 1000)
        results[mode] = {
            "p50_ms": statistics.median(times),
            "p95_ms": percentile(times, 0.95),
            "max_ms": max(times),
        }
    if args.json:
        print(json.dumps({"passages": args.passages, "queries": args.queries, **results}))
        return
    print(f"{args.passages} passages, {args.queries} queries, limit {args.limit}")
    for mode, figures in results.items():
        verdict = "PASS" if figures["p95_ms"] < 50 else "over the 50 ms target"
        print(
            f"  {mode:8s} p50 {figures['p50_ms']:6.1f} ms  p95 {figures['p95_ms']:6.1f} ms  "
            f"max {figures['max_ms']:6.1f} ms  {verdict}"
        )


if __name__ == "__main__":
    main()
