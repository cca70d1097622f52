"""`lantern summarize` and `lantern translate`: the writing tools from a terminal.

Progress goes to stderr, the result to stdout, and the session is stored as in the app.
Ctrl+C cancels: what was written so far is kept in the session.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from desktop.cli.arguments import Commands
from desktop.cli.output import follow_run, open_lantern, print_json, progress
from desktop.errors import LanternError
from desktop.services.files import read_document_file, read_document_stream
from desktop.tasks.documents import SourceText


def add_commands(commands: Commands) -> None:
    from desktop.tasks.summary import FORMATS

    summarize = commands.add_parser(
        "summarize", help="summarize a document of any length (.txt .md .pdf .docx .html)"
    )
    summarize.add_argument("file", help="the document, or - to read standard input")
    summarize.add_argument(
        "--length", default="short", help="sentence, short, detailed, or a number of words"
    )
    summarize.add_argument("--format", choices=FORMATS, default="paragraph")
    summarize.add_argument("--tone", help='audience or tone, e.g. "for a ten-year-old"')
    summarize.add_argument("--language", help="write the summary in this language")
    summarize.add_argument("--focus", help="what to pay particular attention to")
    summarize.add_argument("--model", help="installed model id")
    summarize.add_argument("--json", action="store_true", help="the result, plan and timings")
    summarize.set_defaults(handler=_summarize)

    translate = commands.add_parser("translate", help="translate a document, segment by segment")
    translate.add_argument("file", help="the document, or - to read standard input")
    translate.add_argument("--to", required=True, help="target language: a name or code")
    translate.add_argument(
        "--from", dest="source_language", help="source language (default: detected)"
    )
    translate.add_argument("--glossary", help="a CSV file of term,translation rows")
    translate.add_argument("--tone", help='e.g. "formal" or "informal"')
    translate.add_argument("--model", help="installed model id")
    translate.add_argument("--json", action="store_true", help="every segment, and timings")
    translate.set_defaults(handler=_translate)


def read_source(where: str) -> SourceText:
    """A file, or standard input for "-", read as the app reads a dropped file."""
    if where == "-":
        return SourceText(read_document_stream(sys.stdin.buffer, "standard input").text)
    path = Path(where).expanduser()
    return SourceText(read_document_file(path).text, path.name)


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return (
        f" · about {seconds:.0f} s left"
        if seconds < 90
        else f" · about {seconds / 60:.0f} min left"
    )


# ---- summarize ----


def _summarize(args: argparse.Namespace) -> int:
    from desktop.services.summarize import PlanMade, StepStarted, SummaryPiece
    from desktop.tasks.summary import SummaryOptions, parse_length

    length, words = parse_length(args.length)
    options = SummaryOptions(
        length=length,
        words=words,
        format=args.format,
        tone=args.tone or "",
        language=args.language or "",
        focus=args.focus or "",
    )
    source = read_source(args.file)
    app = open_lantern()
    try:
        run = app.summarize.summarize(source, options, model_id=args.model)
        progress(f"[summary {run.summary_id} · {run.model.id}]")

        def show(event: object) -> None:
            if isinstance(event, PlanMade):
                plan = event.plan
                progress(
                    f"{plan.tokens:,} tokens in {len(plan.chunks)} part(s) of at most "
                    f"{plan.chunk_tokens:,}; {plan.passes} pass(es) expected"
                )
            elif isinstance(event, StepStarted):
                progress(f"[{event.step}/{event.steps}] {event.label}{_eta(event.eta_s)}")
            elif isinstance(event, SummaryPiece) and not args.json:
                sys.stdout.write(event.text)
                sys.stdout.flush()

        if follow_run(run, show):
            progress(f"\nstopped; what was written is kept in summary {run.summary_id}")
            return 130
        outcome = run.outcome
        assert outcome is not None
        record = outcome.record
        if args.json:
            print_json(
                {
                    "summary_id": record.id,
                    "model_id": record.model_id,
                    "status": outcome.status,
                    "options": record.options,
                    "summary": record.result,
                    "plan": record.plan,
                    "notes": record.partials,
                    "timings": record.timings,
                }
            )
        else:
            print()
            timings = record.timings or {}
            progress(
                f"[{outcome.status} · {timings.get('passes', '?')} pass(es), "
                f"{len(timings.get('steps', []))} step(s) in {timings.get('work_s', 0):.1f} s]"
            )
        return 0 if outcome.status == "complete" else 1
    finally:
        app.close()


# ---- translate ----


def _translate(args: argparse.Namespace) -> int:
    from desktop.services.translate import SegmentDone, SegmentStarted, TranslationOptions
    from desktop.tasks.glossary import Glossary, read_glossary_csv
    from desktop.tasks.languages import find_language

    glossary = Glossary()
    if args.glossary:
        glossary = read_glossary_csv(_read_text(args.glossary))
    options = TranslationOptions(
        target=find_language(args.to),
        source=find_language(args.source_language) if args.source_language else None,
        tone=args.tone or "",
        glossary=glossary,
    )
    source = read_source(args.file)
    app = open_lantern()
    try:
        service = app.translate
        run = service.start(source, options, model_id=args.model)
        record = service.translations.get(run.translation_id)
        progress(
            f"[translation {run.translation_id} · {run.model.id} · "
            f"{record.source_language or 'unknown language'} -> {record.target_language}]"
        )

        def show(event: object) -> None:
            if isinstance(event, SegmentStarted):
                progress(f"[{event.step}/{event.steps}] segment {event.position + 1}"
                          f"{_eta(event.eta_s)}")  # fmt: skip
            elif isinstance(event, SegmentDone) and event.segment.missing_terms:
                terms = ", ".join(event.segment.missing_terms)
                progress(f"  segment {event.segment.position + 1}: glossary term(s) "
                          f"not translated as required: {terms}")  # fmt: skip

        if follow_run(run, show):
            progress(f"\nstopped; finished segments are kept in translation {run.translation_id}")
            return 130
        outcome = run.outcome
        assert outcome is not None
        record, segments = service.session(run.translation_id)
        document = service.translated_document(run.translation_id)
        if args.json:
            print_json(
                {
                    "translation_id": record.id,
                    "model_id": record.model_id,
                    "status": outcome.status,
                    "source_language": record.source_language,
                    "target_language": record.target_language,
                    "glossary": record.glossary,
                    "document": document,
                    "segments": [_segment_row(s) for s in segments],
                    "timings": record.timings,
                }
            )
        else:
            sys.stdout.write(document.rstrip("\n") + "\n")
            flagged = sum(1 for s in segments if s.missing_terms)
            timings = record.timings or {}
            progress(
                f"[{outcome.status} · {len(segments)} segments, {flagged} flagged for the "
                f"glossary · {timings.get('seconds') or 0:.1f} s]"
            )
        return 0 if outcome.status == "complete" else 1
    finally:
        app.close()


def _segment_row(segment: Any) -> dict[str, Any]:
    row = asdict(segment)
    del row["translation_id"]
    return row


def _read_text(where: str) -> str:
    try:
        return Path(where).expanduser().read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LanternError(f"{where} is not UTF-8 text; save the glossary as UTF-8 CSV.") from exc
    except OSError as exc:
        raise LanternError(f"Cannot read {where}: {exc.strerror or exc}.") from exc
