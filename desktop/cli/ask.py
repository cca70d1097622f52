"""`lantern ask`: a question answered from the user's libraries (`lantern docs`), with the
passages it was given as numbered sources. The answer streams to stdout, then its Sources
list; --json prints the answer and its citations at the end. The question and its answer are
a conversation in the history, which `--conversation` goes on with (a follow-up stays on
the documents) and the window's chat shows."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from desktop.cli.arguments import Commands, add_sampling_flag
from desktop.cli.output import (
    follow_run,
    open_lantern,
    print_json,
    progress,
    write_nothing,
    write_out,
)
from desktop.errors import LanternError

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.store.repositories import MessageSource

PASSAGE_SHOWN = 200  # characters of each source's passage in the Sources list


def add_commands(commands: Commands) -> None:
    ask = commands.add_parser("ask", help="answer a question from your documents, with its sources")
    ask.add_argument("question", help="the question, or - to read it from standard input")
    ask.add_argument(
        "--library",
        action="append",
        help="answer from this library (repeatable; default: every library)",
    )
    ask.add_argument("--model", help="installed model id (default: the default model)")
    ask.add_argument(
        "--documents-only",
        action="store_true",
        help="answer only from the documents: say so when nothing in them answers",
    )
    ask.add_argument("--conversation", type=int, help="ask a follow-up in this conversation")
    add_sampling_flag(ask, "max_tokens", None, "the app's setting")
    add_sampling_flag(ask, "temperature", None, "the app's setting")
    ask.add_argument("--json", action="store_true", help="print the answer and its citations")
    ask.set_defaults(handler=_ask)


def _ask(args: argparse.Namespace) -> int:
    from desktop.services.chat import DocumentChoice

    app = open_lantern()
    try:
        question = sys.stdin.read() if args.question == "-" else args.question
        libraries = tuple(args.library or _every_library(app))
        turn = app.chat.send(
            question,
            conversation_id=args.conversation,
            model_id=args.model,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            documents=DocumentChoice(libraries, documents_only=args.documents_only),
        )
        if not args.json:
            progress(f"[conversation {turn.conversation.id} · {turn.model.id}]")
        write: Callable[[str], None] = write_nothing if args.json else write_out
        stopped = follow_run(turn, write)
        if not args.json:
            print()
        if stopped:
            progress(f"stopped; what was written is kept in conversation {turn.conversation.id}")
            return 130
        outcome = turn.outcome
        assert outcome is not None  # set once the iteration ended
        answer = outcome.answer
    finally:
        app.close()
    if args.json:
        print_json(
            {
                "conversation_id": answer.conversation_id,
                "message_id": answer.id,
                "status": answer.status,
                "answer": answer.content,
                "citations": [_citation_row(s, answer.content) for s in answer.sources],
            }
        )
    elif answer.sources:
        _print_sources(answer.sources)
    return 0


def _every_library(app: Lantern) -> list[str]:
    names = [overview.name for overview in app.documents.libraries()]
    if not names:
        raise LanternError(
            "There are no libraries to answer from yet. Add your files with "
            "`lantern docs add PATH`."
        )
    return names


def _citation_row(source: MessageSource, answer: str) -> dict[str, Any]:
    from desktop.tasks.grounded import cited_numbers

    return {
        "number": source.number,
        "file": source.path,
        "text": source.text,
        "page": source.page,
        "heading": source.heading or None,
        "start": source.start,
        "end": source.end,
        "score": source.score,
        "cited": source.number in cited_numbers(answer),  # the answer names it: [n]
    }


def _print_sources(sources: tuple[MessageSource, ...]) -> None:
    from desktop.tasks.grounded import where

    print("\nSources:")
    for source in sources:
        print(f"[{source.number}] {where(source, full_path=True)}")
        passage = " ".join(source.text.split())
        shown = passage if len(passage) <= PASSAGE_SHOWN else passage[:PASSAGE_SHOWN] + "…"
        print(f"    {shown}")
