"""Recall@5 of the documents library's search (issue 19): hybrid, vector-only and
keyword-only, on question sets asked in other words than the documents'.

The corpus is Python's own language reference (79 topics, one Markdown file each:
`docs_corpus.py`). Two question sets are measured on one index: `docs_questions.json`, asked
as a user of the reference asks (reworded, with the technical names a user knows; some hard
for keyword search, as synonyms are, some hard for vectors, as rare exact names like
`__index__` are), which the target applies to; and `docs_questions_adversarial.json`,
disguised (key terms avoided), reported beside it. A library of the corpus is built with the
real service in a temporary LANTERN_HOME (the folder added, `index()` run to its end, with
the given embedding model), then every question is searched with `limit=5` in each mode. A
question is found when one of the five passages holds its answer (whitespace aside) and
comes from a file that holds it (the citation names the right file). Target: hybrid at
least 0.9 on `docs_questions.json`; each set's misses of hybrid are printed with the files
that came instead.

    .venv/bin/python benchmarks/docs_recall.py EMBEDDER.gguf [--threads 2] [--questions FILE]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from docs_corpus import (
    ADVERSARIAL_QUESTIONS,
    QUESTIONS,
    Question,
    describe,
    normalized,
    questions,
    topic_markdown,
    topic_names,
    write_corpus,
)

TARGET = 0.9
MODES = ("hybrid", "vector", "keyword")
LIBRARY = "Python reference"
LIMIT = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "embedder", type=Path, help="an embedding GGUF (the converted all-MiniLM-L6-v2)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--questions",
        type=Path,
        metavar="FILE",
        help=f"measure only this set, the target applying to it (default: {QUESTIONS.name}, "
        f"with {ADVERSARIAL_QUESTIONS.name} reported beside it)",
    )
    args = parser.parse_args()

    # The set the target applies to first; the adversarial one is only reported.
    paths = [args.questions] if args.questions else [QUESTIONS, ADVERSARIAL_QUESTIONS]
    sets = {path.name: questions(path) for path in paths}
    for name, asked in sets.items():
        print(f"{name}: {describe(asked)}")
    texts = {name: normalized(topic_markdown(name)) for name in topic_names()}
    with corpus_library(args.embedder, args.threads) as (app, _seconds):
        found = {
            name: {mode: _searched(app, asked, texts, mode) for mode in MODES}
            for name, asked in sets.items()
        }
    recalls = {name: _report(name, asked, found[name]) for name, asked in sets.items()}
    target_set = paths[0].name
    verdict = recalls[target_set] >= TARGET
    print(
        f"{target_set}: hybrid recall@{LIMIT} {recalls[target_set]:.3f} "
        f"(target >= {TARGET}) {'PASS' if verdict else 'FAIL'}"
    )
    return 0 if verdict else 1


@contextmanager
def corpus_library(embedder: Path, threads: int) -> Iterator[tuple[Any, float]]:
    """A Lantern in a new temporary LANTERN_HOME, `embedder` its only (so its documents')
    embedding model, the corpus in the library LIBRARY indexed to the end; with the seconds
    `index()` took, from its start to its end."""
    with tempfile.TemporaryDirectory(prefix="lantern-docs-bench-") as home:
        os.environ["LANTERN_HOME"] = home
        from desktop.paths import app_paths
        from desktop.services.app import Lantern
        from desktop.settings import Settings, save_settings

        paths = app_paths()
        save_settings(paths.settings_file, Settings(threads=threads))
        app = Lantern(paths)
        try:
            app.models.import_file(embedder)
            folder = Path(home) / "python-reference"
            write_corpus(folder)
            app.documents.add([folder], library=LIBRARY)
            started = time.perf_counter()
            run = app.documents.index()
            for _progress in run:
                pass
            seconds = time.perf_counter() - started
            outcome = run.outcome
            assert outcome is not None and outcome.status == "complete", outcome
            assert outcome.failed == 0, app.documents.failed_files(LIBRARY)
            print(
                f"indexed {outcome.files_done} files, {outcome.passages:,} passages in "
                f"{seconds:.1f} s ({threads} threads)"
            )
            yield app, seconds
        finally:
            app.close()


def _searched(
    app: Any, asked: list[Question], texts: dict[str, str], mode: str
) -> list[tuple[bool, list[str], bool]]:
    """For each question: found or not, the files of the passages that came, and whether
    one of them is a file holding the answer (the document found, if not its passage)."""
    results = []
    for question in asked:
        answer = normalized(question.answer)
        holders = {name for name, text in texts.items() if answer in text}
        passages = app.documents.search(
            question.question, libraries=[LIBRARY], limit=LIMIT, mode=mode
        )
        files = [Path(p.path).stem for p in passages]
        found = any(answer in normalized(p.text) and Path(p.path).stem in holders for p in passages)
        results.append((found, files, bool(holders.intersection(files))))
    return results


def _report(
    name: str, asked: list[Question], found: dict[str, list[tuple[bool, list[str], bool]]]
) -> float:
    """Print one set's table and its misses of hybrid; its hybrid recall."""
    groups = {
        "all": list(range(len(asked))),
        "hard for keywords": [i for i, q in enumerate(asked) if q.hard_for == "keyword"],
        "hard for vectors": [i for i, q in enumerate(asked) if q.hard_for == "vectors"],
    }
    print(f"\n{name}")
    print(f"{f'recall@{LIMIT}':<24}" + "".join(f"{mode:>10}" for mode in MODES))
    for group, members in groups.items():
        if not members:
            continue
        cells = "".join(
            f"{sum(found[mode][i][0] for i in members) / len(members):>10.3f}" for mode in MODES
        )
        print(f"{group + f' ({len(members)})':<24}{cells}")
    files = "".join(
        f"{sum(found[mode][i][2] for i in groups['all']) / len(asked):>10.3f}" for mode in MODES
    )
    print(f"{'right file, any passage':<24}{files}")
    misses = [i for i, (hit, _files, _file) in enumerate(found["hybrid"]) if not hit]
    for i in misses:
        q = asked[i]
        print(f"  missed (hybrid): {q.question}  [{q.topic}.md; came: {found['hybrid'][i][1]}]")
    return 1 - len(misses) / len(asked)


if __name__ == "__main__":
    raise SystemExit(main())
