"""Full-text search over a large history: how long `MessageSearch.search` takes.

Builds (once, cached by size) a Lantern database of N messages in conversations of 100,
written through the real schema and triggers, with text drawn from a Zipf-like vocabulary
so that some words are everywhere and most are rare. Then times searches for a rare word,
a common word, two words, and a prefix being typed. Target (issue 4): under 50 ms.

    .venv/bin/python benchmarks/history_search.py [--messages 1000000] [--runs 20] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from desktop.store.db import Database
from desktop.store.search import MessageSearch

PER_CONVERSATION = 100
VOCABULARY = 20_000


def words(rng: random.Random) -> list[str]:
    """Made-up words, so any word's frequency is known: rank r appears ~1/r as often."""
    syllables = ["ka", "lo", "mi", "ren", "tu", "sa", "vel", "no", "ri", "dan", "po", "shi"]
    vocabulary = []
    while len(vocabulary) < VOCABULARY:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in vocabulary:
            vocabulary.append(word)
    return vocabulary


def build_history(path: Path, messages: int, seed: int = 7) -> list[str]:
    """The database at `path` (created through Lantern's migrations); the vocabulary."""
    rng = random.Random(seed)
    vocabulary = words(rng)
    if path.exists():
        return vocabulary
    Database(path).close()  # the schema, the FTS table and its triggers
    cumulative = list(itertools.accumulate(1 / rank for rank in range(1, VOCABULARY + 1)))
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        now = "2026-01-01 00:00:00"
        conversation_count = -(-messages // PER_CONVERSATION)
        db.executemany(
            "INSERT INTO conversations (id, title, created_at, updated_at, pinned, "
            "context_policy) VALUES (?, ?, ?, ?, 0, 'drop_middle')",
            ((i, f"Conversation {i}", now, now) for i in range(1, conversation_count + 1)),
        )

        def rows():
            for i in range(1, messages + 1):
                text = " ".join(
                    rng.choices(vocabulary, cum_weights=cumulative, k=rng.randint(10, 60))
                )
                conversation = (i - 1) // PER_CONVERSATION + 1
                parent = None if (i - 1) % PER_CONVERSATION == 0 else i - 1
                role = "user" if i % 2 else "assistant"
                yield (i, conversation, parent, role, text, "complete", now, now)

        db.executemany(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, status, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows(),
        )
        db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
    return vocabulary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    path = Path(tempfile.gettempdir()) / f"lantern-history-{args.messages}.sqlite3"
    started = time.perf_counter()
    vocabulary = build_history(path, args.messages)
    built = time.perf_counter() - started
    db = Database(path)
    search = MessageSearch(db)
    queries = {
        "rare word": vocabulary[-1],
        "common word": vocabulary[0],
        "two words": f"{vocabulary[50]} {vocabulary[400]}",
        "prefix while typing": vocabulary[120][:3],
    }
    results = {}
    for label, query in queries.items():
        search.search(query)  # warm the page cache
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            hits = search.search(query)
            times.append(time.perf_counter() - start)
        results[label] = {
            "query": query,
            "hits": len(hits),
            "median_ms": round(statistics.median(times) * 1000, 2),
            "max_ms": round(max(times) * 1000, 2),
        }
    db.close()
    if args.json:
        print(json.dumps({"messages": args.messages, "build_s": round(built, 1), **results}))
        return
    print(f"{args.messages:,} messages (database built or reused in {built:.1f} s)")
    for label, r in results.items():
        print(
            f"  {label:<20} '{r['query']}': {r['hits']} hits, median {r['median_ms']} ms, "
            f"max {r['max_ms']} ms"
        )


if __name__ == "__main__":
    main()
