"""`lantern docs`: libraries of the user's files that `lantern ask` and the chat answer from.
`docs add` records files and folders and indexes them at once (Ctrl+C stops; the queue is
kept, and `docs index` or the next `docs add` goes on where it stopped); `docs search` shows
the passages a question finds, with their scores."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.cli.arguments import Commands, add_group, positive_int
from desktop.cli.output import follow_run, open_lantern, print_json, progress

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.services.documents import ScanReport
    from desktop.services.indexing import IndexOutcome, IndexProgress
    from desktop.store.documents import FoundPassage

DEFAULT_LIBRARY = "My documents"  # as desktop.services.documents (not imported: --help stays quick)


def add_commands(commands: Commands) -> None:
    docs = add_group(commands, "docs", "libraries of your files, to ask questions about")
    add = docs.add_parser("add", help="add files and folders to a library and index them")
    add.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add.add_argument("--library", default=DEFAULT_LIBRARY, help=f"default: {DEFAULT_LIBRARY!r}")
    add.add_argument(
        "--no-index", action="store_true", help="only record them; index later (`docs index`)"
    )
    add.add_argument("--json", action="store_true")
    add.set_defaults(handler=_add)
    index = docs.add_parser("index", help="index what is queued (after a stop or a change)")
    index.add_argument("--library", help="only this library")
    index.add_argument("--json", action="store_true")
    index.set_defaults(handler=_index)
    listing = docs.add_parser("list", help="the libraries, their sources and files")
    listing.add_argument("--library", help="only this library, with every file's status")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    rm = docs.add_parser("rm", help="remove sources from a library, or a whole library")
    rm.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="sources as added")
    rm.add_argument("--library", default=DEFAULT_LIBRARY)
    rm.add_argument(
        "--all", action="store_true", help="remove the whole library (its files stay on disk)"
    )
    rm.set_defaults(handler=_rm)
    search = docs.add_parser("search", help="the passages that answer a question best")
    search.add_argument("query")
    search.add_argument("--library", action="append", help="search only this one (repeatable)")
    search.add_argument("--limit", type=positive_int, default=5)
    search.add_argument(
        "--mode", choices=("hybrid", "vector", "keyword"), default="hybrid",
        help="hybrid (default): by meaning and words; vector: meaning; keyword: words",
    )  # fmt: skip
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=_search)


def _add(args: argparse.Namespace) -> int:
    app = open_lantern()
    try:
        report = app.documents.add(args.paths, args.library)
        _print_scan(report, args.json)
        if args.no_index:
            return 0
        return _run_index(app, args.library, args.json)
    finally:
        app.close()


def _index(args: argparse.Namespace) -> int:
    app = open_lantern()
    try:
        report = app.documents.scan(args.library)
        _print_scan(report, args.json)
        return _run_index(app, args.library, args.json)
    finally:
        app.close()


def _run_index(app: Lantern, library: str | None, as_json: bool) -> int:
    run = app.documents.index(library)

    def on_progress(event: IndexProgress) -> None:
        if as_json or event.state != "running":
            return
        left = "" if event.seconds_left is None else f", about {event.seconds_left:.0f} s left"
        progress(
            f"[{event.files_done + 1}/{event.files_total}] {event.current}"
            f" ({event.passages} passages{left})"
        )

    stopped = follow_run(run, on_progress)
    outcome = run.outcome
    assert outcome is not None
    failures = app.documents.failed_files(library)
    if as_json:
        print_json(_outcome_row(outcome, failures))
    else:
        print(
            f"Indexed {outcome.files_done} files: {outcome.passages} new passages"
            + (f", {outcome.failed} could not be read" if outcome.failed else "")
            + (" (stopped; `lantern docs index` goes on)" if stopped else "")
            + "."
        )
        for record in failures:
            print(f"  {record.path}: {record.error}", file=sys.stderr)
    return 0


def _print_scan(report: ScanReport, as_json: bool) -> None:
    if as_json:
        return
    for reason in report.refused:
        print(f"  left out: {reason}", file=sys.stderr)
    if report.queued or report.removed:
        progress(f"{report.queued} files to index, {report.removed} removed.")


def _list(args: argparse.Namespace) -> int:
    app = open_lantern()
    try:
        overviews = app.documents.libraries()
        if args.library is not None:
            overviews = [o for o in overviews if o.name == args.library]
            files = app.documents.files(args.library)
        else:
            files = []
    finally:
        app.close()
    if args.json:
        rows: list[dict[str, Any]] = [
            {
                "name": o.name,
                "sources": [s.path for s in o.sources],
                "files": o.counts.files,
                "indexed": o.counts.indexed,
                "queued": o.counts.queued,
                "failed": o.counts.failed,
                "passages": o.counts.passages,
            }
            for o in overviews
        ]
        if args.library is not None and rows:
            rows[0]["file_list"] = [
                {"path": f.path, "status": f.status, "passages": f.passages, "error": f.error}
                for f in files
            ]
        print_json(rows)
        return 0
    if not overviews:
        print("No libraries yet. Add files with `lantern docs add PATH`.")
        return 0
    for o in overviews:
        counts = o.counts
        waiting = f", {counts.queued} waiting" if counts.queued else ""
        failed = f", {counts.failed} unreadable" if counts.failed else ""
        print(f"{o.name}: {counts.indexed} of {counts.files} files indexed{waiting}{failed}, "
              f"{counts.passages} passages")  # fmt: skip
        for source in o.sources:
            print(f"  {source.path}{'/' if source.is_folder else ''}")
    for f in files:
        detail = f" — {f.error}" if f.error else f" ({f.passages} passages)"
        print(f"  [{f.status}] {f.path}{detail}")
    return 0


def _rm(args: argparse.Namespace) -> int:
    if args.all == bool(args.paths):
        print("error: give the sources to remove, or --all for the whole library",
              file=sys.stderr)  # fmt: skip
        return 2
    app = open_lantern()
    try:
        if args.all:
            app.documents.remove_library(args.library)
            print(f"Removed the library {args.library!r} (your files are untouched).")
        else:
            removed = app.documents.remove(args.paths, args.library)
            print(f"Removed {removed} source{'s' if removed != 1 else ''} from {args.library!r}.")
    finally:
        app.close()
    return 0


def _search(args: argparse.Namespace) -> int:
    app = open_lantern()
    try:
        found = app.documents.search(
            args.query, libraries=args.library, limit=args.limit, mode=args.mode
        )
    finally:
        app.close()
    if args.json:
        print_json([passage_row(p) for p in found])
        return 0
    if not found:
        print("Nothing found.")
    for number, passage in enumerate(found, 1):
        where = ", ".join(_where(passage))
        print(f"[{number}] {where} (score {passage.score:.3f})")
        print("    " + " ".join(passage.text.split())[:300])
    return 0


def passage_row(passage: FoundPassage) -> dict[str, Any]:
    row: dict[str, Any] = {
        "file": passage.path,
        "library": passage.library,
        "text": passage.text,
        "score": passage.score,
        "start": passage.start,
        "end": passage.end,
    }
    if passage.similarity is not None:
        row["similarity"] = passage.similarity
    if passage.page is not None:
        row["page"] = passage.page
    if passage.heading:
        row["heading"] = passage.heading
    return row


def _where(passage: FoundPassage) -> list[str]:
    parts = [passage.path]
    if passage.page is not None:
        parts.append(f"page {passage.page}")
    if passage.heading:
        parts.append(passage.heading)
    return parts


def _outcome_row(outcome: IndexOutcome, failures: list[Any]) -> dict[str, Any]:
    return {
        "status": outcome.status,
        "files_indexed": outcome.files_done,
        "passages": outcome.passages,
        "failed": [{"file": f.path, "error": f.error} for f in failures],
    }
