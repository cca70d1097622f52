"""`lantern history`: the stored conversations: list, search, show, export, import and delete
them (the same store the window shows)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from desktop.cli.arguments import Commands, add_group, positive_int
from desktop.cli.output import open_lantern, print_json


def add_commands(commands: Commands) -> None:
    history_commands = add_group(commands, "history", "stored conversations")
    hlist = history_commands.add_parser("list", help="conversations, newest first")
    hlist.add_argument("--json", action="store_true")
    hlist.set_defaults(handler=_list)
    hsearch = history_commands.add_parser("search", help="find a word in every conversation")
    hsearch.add_argument("text")
    hsearch.add_argument("--limit", type=positive_int, default=50)
    hsearch.add_argument("--json", action="store_true")
    hsearch.set_defaults(handler=_search)
    export = history_commands.add_parser("export", help="a conversation as Markdown, JSON or HTML")
    export.add_argument("id", type=int)
    export.add_argument("--format", choices=["md", "json", "html"], default="md")
    export.add_argument("-o", "--output", help="write to this file (default: standard output)")
    export.set_defaults(handler=_export)
    himport = history_commands.add_parser(
        "import", help="a conversation from Lantern's JSON or an OpenAI-style message list"
    )
    himport.add_argument("file", help="the file, or - for standard input")
    himport.set_defaults(handler=_import)
    hrm = history_commands.add_parser("rm", help="delete a conversation")
    hrm.add_argument("id", type=int)
    hrm.set_defaults(handler=_rm)
    show = history_commands.add_parser("show", help="one conversation's messages")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)


def _list(args: argparse.Namespace) -> int:
    conversations = open_lantern().history.list_conversations()
    if args.json:
        print_json([asdict(c) for c in conversations])
    else:
        for c in conversations:
            pin = " (pinned)" if c.pinned else ""
            print(
                f"{c.id}\t{c.updated_at:%Y-%m-%d %H:%M}\t{c.message_count} messages\t{c.title}{pin}"
            )
    return 0


def _search(args: argparse.Namespace) -> int:
    from desktop.store.search import MATCH_END, MATCH_START

    hits = open_lantern().history.search(args.text, limit=args.limit)
    if args.json:
        print_json(
            [
                {**asdict(h), "snippet": h.snippet.replace(MATCH_START, "").replace(MATCH_END, "")}
                for h in hits
            ]
        )
        return 0
    if not hits:
        print(f"No message holds '{args.text}'.")
    for h in hits:
        snippet = " ".join(h.snippet.replace(MATCH_START, "[").replace(MATCH_END, "]").split())
        print(f"{h.conversation_id}\t{h.conversation_title}\t{h.role}: {snippet}")
    return 0


def _export(args: argparse.Namespace) -> int:
    history = open_lantern().history
    if args.output:
        history.export_file(args.id, Path(args.output).expanduser(), args.format)
        print(f"Wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(history.export(args.id, args.format))
    return 0


def _import(args: argparse.Namespace) -> int:
    history = open_lantern().history
    if args.file == "-":
        conversation = history.import_stream(sys.stdin.buffer, "standard input")
    else:
        conversation = history.import_file(Path(args.file).expanduser())
    print(f"Imported conversation {conversation.id}: {conversation.title}")
    return 0


def _rm(args: argparse.Namespace) -> int:
    history = open_lantern().history
    title = history.conversations.get(args.id).title
    history.delete(args.id)
    history.conversations.purge_deleted()  # the command line has no Undo
    print(f"Deleted conversation {args.id}: {title}")
    return 0


def _show(args: argparse.Namespace) -> int:
    conversation, messages = open_lantern().chat.conversation(args.id)
    if args.json:
        print_json({**asdict(conversation), "messages": [asdict(m) for m in messages]})
        return 0
    print(f"# {conversation.title}  (model {conversation.model_id})\n")
    for m in messages:
        mark = "" if m.status == "complete" else f"  [{m.status}]"
        print(f"{m.role}{mark}:\n{m.content}\n")
    return 0
