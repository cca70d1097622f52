"""Conversations as files: Lantern's JSON (every branch, lossless), Markdown and HTML (the
branch shown, to read or share), and imports of Lantern's JSON or an OpenAI-style list of
`{"role": ..., "content": ...}` messages."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from markdown_it import MarkdownIt

from desktop.errors import InvalidConversationFile
from desktop.store.repositories import (
    ConversationRecord,
    MessageRecord,
    NewConversation,
    NewMessage,
)
from desktop.tasks.chat import conversation_title

FORMAT = "lantern-conversation"
VERSION = 1
ROLES = ("system", "user", "assistant")
ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System"}


# ---- export ----


def to_json(conversation: ConversationRecord, messages: Sequence[MessageRecord]) -> str:
    """Every message of every branch. Ids are numbered 1, 2, ... in the file, so exporting
    an imported conversation gives the same file back."""
    keys = {m.id: number for number, m in enumerate(sorted(messages, key=lambda m: m.id), 1)}
    document = {
        "format": FORMAT,
        "version": VERSION,
        "title": conversation.title,
        "system_prompt": conversation.system_prompt,
        "model_id": conversation.model_id,
        "pinned": conversation.pinned,
        "sampling": conversation.sampling,
        "context_policy": conversation.context_policy,
        "current_leaf": keys.get(conversation.current_leaf_id or -1),
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
        "messages": [
            {
                "id": keys[m.id],
                "parent": keys[m.parent_id] if m.parent_id is not None else None,
                "role": m.role,
                "content": m.content,
                "status": m.status,
                "model_id": m.model_id,
                "stats": m.stats,
                "error": m.error,
                "created_at": m.created_at.isoformat(),
                "updated_at": m.updated_at.isoformat(),
            }
            for m in sorted(messages, key=lambda m: m.id)
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_markdown(conversation: ConversationRecord, thread: Sequence[MessageRecord]) -> str:
    lines = [f"# {conversation.title}", ""]
    if conversation.system_prompt:
        lines += [f"> **System:** {conversation.system_prompt}", ""]
    for message in thread:
        lines += [f"## {_speaker(message)}", "", message.content, ""]
        if message.status in ("stopped", "interrupted", "failed"):
            lines += [f"*({_cut_short(message)})*", ""]
    return "\n".join(lines).rstrip() + "\n"


def to_html(conversation: ConversationRecord, thread: Sequence[MessageRecord]) -> str:
    """A standalone page; answers rendered from their Markdown, raw HTML in them escaped."""
    markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
    parts = [
        "<!doctype html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{html.escape(conversation.title)}</title>",
        "<style>body{font-family:sans-serif;max-width:48em;margin:2em auto;line-height:1.5}"
        "section{border-top:1px solid #ddd;padding:.5em 0}h2{font-size:1em;color:#555}"
        "pre{background:#f4f4f4;padding:.6em;overflow:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "</style></head><body>",
        f"<h1>{html.escape(conversation.title)}</h1>",
    ]
    if conversation.system_prompt:
        parts.append(f"<p><em>System: {html.escape(conversation.system_prompt)}</em></p>")
    for message in thread:
        body = markdown.render(message.content)
        note = f"<p><em>({_cut_short(message)})</em></p>" if message.status != "complete" else ""
        parts.append(
            f'<section class="{message.role}"><h2>{html.escape(_speaker(message))}</h2>'
            f"{body}{note}</section>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _speaker(message: MessageRecord) -> str:
    name = ROLE_NAMES.get(message.role, message.role)
    return (
        f"{name} ({message.model_id})" if message.role == "assistant" and message.model_id else name
    )


def _cut_short(message: MessageRecord) -> str:
    return {
        "stopped": "stopped by the user",
        "interrupted": "cut short by a crash",
        "failed": f"failed: {message.error or 'unknown error'}",
    }.get(message.status, message.status)


# ---- import ----


def parse_conversation_file(text: str, source_name: str) -> NewConversation:
    """Lantern's JSON or an OpenAI-style message list; InvalidConversationFile otherwise."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidConversationFile(
            f"{source_name} is not JSON ({exc}). Lantern imports its own JSON export or a "
            'list of {"role": ..., "content": ...} messages.'
        ) from exc
    if isinstance(document, dict) and document.get("format") == FORMAT:
        return _from_lantern(document, source_name)
    if isinstance(document, dict) and isinstance(document.get("messages"), list):
        document = document["messages"]  # {"messages": [...]}, as chat requests are written
    if isinstance(document, list):
        return _from_message_list(document, source_name)
    raise InvalidConversationFile(
        f"{source_name} is neither a Lantern conversation nor a list of "
        '{"role": ..., "content": ...} messages.'
    )


def _from_lantern(document: dict[str, Any], source: str) -> NewConversation:
    if document.get("version") != VERSION:
        raise InvalidConversationFile(
            f"{source} was written by a newer Lantern (format version "
            f"{document.get('version')}); update Lantern to import it."
        )
    messages: list[NewMessage] = []
    seen: set[int] = set()
    for index, raw in enumerate(document.get("messages") or [], 1):
        where = f"{source}, message {index}"
        key, parent = raw.get("id"), raw.get("parent")
        if not isinstance(key, int) or key in seen:
            raise InvalidConversationFile(f"{where}: 'id' must be a number used once.")
        if parent is not None and parent not in seen:
            raise InvalidConversationFile(f"{where}: its parent {parent} must come before it.")
        seen.add(key)
        messages.append(
            NewMessage(
                key=key,
                parent=parent,
                role=_role(raw.get("role"), where),
                content=_text(raw.get("content"), where),
                status=str(raw.get("status") or "complete"),
                model_id=raw.get("model_id"),
                stats=raw.get("stats"),
                error=raw.get("error"),
                created_at=_time(raw.get("created_at")),
                updated_at=_time(raw.get("updated_at")),
            )
        )
    leaf = document.get("current_leaf")
    return NewConversation(
        title=str(document.get("title") or "Imported conversation"),
        messages=tuple(messages),
        system_prompt=document.get("system_prompt"),
        model_id=document.get("model_id"),
        pinned=bool(document.get("pinned")),
        sampling=document.get("sampling"),
        context_policy=str(document.get("context_policy") or "drop_middle"),
        current_leaf=leaf if leaf in seen else None,
        created_at=_time(document.get("created_at")),
        updated_at=_time(document.get("updated_at")),
    )


def _from_message_list(items: list[Any], source: str) -> NewConversation:
    system_prompt = None
    messages: list[NewMessage] = []
    for index, raw in enumerate(items, 1):
        where = f"{source}, message {index}"
        if not isinstance(raw, dict):
            raise InvalidConversationFile(f'{where}: expected {{"role": ..., "content": ...}}.')
        role, content = _role(raw.get("role"), where), _text(raw.get("content"), where)
        if role == "system" and not messages and system_prompt is None:
            system_prompt = content
            continue
        parent = messages[-1].key if messages else None
        messages.append(
            NewMessage(key=len(messages) + 1, parent=parent, role=role, content=content)
        )
    if not messages:
        raise InvalidConversationFile(f"{source} holds no messages.")
    first_user = next((m.content for m in messages if m.role == "user"), messages[0].content)
    return NewConversation(
        title=conversation_title(first_user), messages=tuple(messages), system_prompt=system_prompt
    )


def _role(value: Any, where: str) -> str:
    if value not in ROLES:
        raise InvalidConversationFile(f"{where}: role must be one of {', '.join(ROLES)}.")
    return str(value)


def _text(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # OpenAI content parts: keep the text ones
        return "".join(p.get("text", "") for p in value if isinstance(p, dict))
    raise InvalidConversationFile(f"{where}: content must be text.")


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
