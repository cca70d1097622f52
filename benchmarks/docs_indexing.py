"""Indexing throughput of the documents library (issue 19) against llama-cpp-python
embedding the same passages directly. Target: at least 0.85.

Lantern's side is `DocumentService.index()` timed from its start to its end on the corpus of
`docs_corpus.py` (Python's language reference, 79 Markdown files) in a new LANTERN_HOME:
the engine process started and the model loaded, every file read, hashed, cut into passages
(token counts from the engine) and embedded, the passages, their keyword rows and vectors
saved. The baseline is what that work cannot do without: `Llama.embed` in this process, on
the same GGUF, loaded as the engine loads an embedding model (the pool's EMBEDDING_CONTEXT
as context and batch, mean pooling, the same threads), on the texts the index embedded (each
passage with its heading path, `passage_text_to_embed`, read back from the library's
database), in the same batches (each file's passages, EMBED_BATCH at a time), its load
included. The figure is baseline seconds / index seconds, the median over `--runs` pairs,
which alternate which side goes first so that load from other programs hits both alike.

    .venv/bin/python benchmarks/docs_indexing.py EMBEDDER.gguf [--runs 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from itertools import groupby
from pathlib import Path
from typing import Any

from docs_recall import corpus_library

TARGET = 0.85


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "embedder", type=Path, help="an embedding GGUF (the converted all-MiniLM-L6-v2)"
    )
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    batches: list[list[str]] = []
    ratios = []
    for run in range(args.runs):
        seconds = {}
        for side in ("index", "direct") if run % 2 == 0 else ("direct", "index"):
            if side == "index":
                with corpus_library(args.embedder, args.threads) as (app, index_seconds):
                    seconds["index"] = index_seconds
                    batches = embedded_batches(app)
            else:
                seconds["direct"] = direct_seconds(args.embedder, batches, args.threads)
        texts = sum(len(batch) for batch in batches)
        print(
            f"run {run + 1}: index {seconds['index']:.1f} s, direct {seconds['direct']:.1f} s "
            f"for {texts:,} passages ({texts / seconds['index']:.1f} and "
            f"{texts / seconds['direct']:.1f} a second)"
        )
        ratios.append(seconds["direct"] / seconds["index"])
    ratio = statistics.median(ratios)
    verdict = ratio >= TARGET
    print(
        f"indexing throughput / direct Llama.embed: {ratio:.3f} "
        f"({', '.join(f'{r:.3f}' for r in ratios)}; target >= {TARGET}) "
        f"{'PASS' if verdict else 'FAIL'}"
    )
    return 0 if verdict else 1


def embedded_batches(app: Any) -> list[list[str]]:
    """The texts the index embedded, in its batches: each file's passages in order, with
    their heading paths and the model's document prefix, EMBED_BATCH at a time."""
    from desktop.services.indexing import EMBED_BATCH, passage_text_to_embed
    from desktop.tasks.passages import Passage

    prefix = app.models.embedder().document_prefix
    # Read as the schema has it (store/schema.py); the store has no call that lists them all.
    with sqlite3.connect(f"file:{app.paths.database}?mode=ro", uri=True) as database:
        rows = database.execute(
            'SELECT file_id, start, "end", text, page, heading FROM passages '
            "ORDER BY file_id, ordinal"
        ).fetchall()
    batches = []
    for _file, passages in groupby(rows, key=lambda row: row[0]):
        texts = [
            passage_text_to_embed(prefix, Passage(start, end, text, page, heading))
            for _id, start, end, text, page, heading in passages
        ]
        batches += [texts[i : i + EMBED_BATCH] for i in range(0, len(texts), EMBED_BATCH)]
    return batches


def direct_seconds(model: Path, batches: list[list[str]], threads: int) -> float:
    """Seconds llama-cpp-python takes to load `model` as the engine loads an embedding
    model and embed `batches`, one call each."""
    import llama_cpp

    from desktop.engine.pool import EMBEDDING_CONTEXT

    started = time.perf_counter()
    direct = llama_cpp.Llama(
        model_path=str(model),
        embedding=True,
        pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
        n_ctx=EMBEDDING_CONTEXT,
        n_batch=EMBEDDING_CONTEXT,
        n_ubatch=EMBEDDING_CONTEXT,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    try:
        for batch in batches:
            direct.embed(batch, normalize=True)
        return time.perf_counter() - started
    finally:
        direct.close()


if __name__ == "__main__":
    raise SystemExit(main())
