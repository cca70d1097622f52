"""`lantern chat`: send a message and stream the answer, in a new conversation or one that goes
on. The answer streams to stdout, the conversation and stats to stderr; --json prints the whole
turn at the end. Ctrl+C stops the answer: what was written is kept in the conversation."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import asdict

from desktop.cli.arguments import Commands, add_sampling_flag
from desktop.cli.output import (
    follow_run,
    generation_line,
    open_lantern,
    print_json,
    progress,
    write_nothing,
    write_out,
)
from desktop.errors import LanternError

# What a turn gets for a flag left out.
CONVERSATIONS_OWN = "the conversation's own, else the app's setting"


def add_commands(commands: Commands) -> None:
    chat = commands.add_parser("chat", help="send a message and stream the answer")
    chat.add_argument("message", help="the message, or - to read it from standard input")
    chat.add_argument("--model", help="installed model id (default: the conversation's or default)")
    chat.add_argument("--conversation", type=int, help="continue this conversation id")
    add_sampling_flag(chat, "max_tokens", None, CONVERSATIONS_OWN)
    add_sampling_flag(chat, "temperature", None, CONVERSATIONS_OWN)
    chat.add_argument("--json", action="store_true", help="print the whole turn as JSON at the end")
    chat.set_defaults(handler=_chat)


def _chat(args: argparse.Namespace) -> int:
    app = open_lantern()
    try:
        text = sys.stdin.read() if args.message == "-" else args.message
        turn = app.chat.send(
            text,
            conversation_id=args.conversation,
            model_id=args.model,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
        )
        if not args.json:
            print(f"[conversation {turn.conversation.id} · {turn.model.id}]", file=sys.stderr)
        write: Callable[[str], None] = write_nothing if args.json else write_out
        try:
            stopped = follow_run(turn, write)
        except LanternError:
            if not args.json:
                print(file=sys.stdout)
            raise
        if stopped:
            if not args.json:
                print()
            print(f"stopped; what was written is kept in conversation {turn.conversation.id}",
                  file=sys.stderr)  # fmt: skip
            return 130
        outcome = turn.outcome
        assert outcome is not None  # set once the iteration ended
        if args.json:
            print_json(
                {
                    "conversation_id": turn.conversation.id,
                    "message_id": outcome.answer.id,
                    "model_id": turn.model.id,
                    "status": outcome.status,
                    "content": outcome.answer.content,
                    "stats": asdict(outcome.stats) if outcome.stats else None,
                }
            )
        else:
            print()
            if outcome.stats:
                progress(generation_line(outcome.stats))
        return 0
    finally:
        app.close()
