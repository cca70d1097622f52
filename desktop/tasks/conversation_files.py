"""Conversations as files: Lantern's JSON (every branch, lossless), Markdown and HTML (the
branch shown, to read or share), and imports of Lantern's JSON or an OpenAI-style list of
`{"role": ..., "content": ...}` messages."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeGuard, get_args, get_type_hints

from markdown_it import MarkdownIt

from desktop.engine.protocol import GenerationStats
from desktop.errors import InvalidConversationFile
from desktop.store.repositories import (
    ConversationRecord,
    MessageRecord,
    MessageStatus,
    NewConversation,
    NewMessage,
)
from desktop.tasks.chat import conversation_title
from desktop.tasks.sampling_fields import (
    CONTEXT_POLICIES,
    DEFAULT_CONTEXT_POLICY,
    sampling_problem,
    usable_context_policy,
    usable_sampling,
)

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
        # As the chat uses them: a value an older Lantern stored out of range would make
        # the file one that no Lantern imports.
        "sampling": None
        if conversation.sampling is None
        else usable_sampling(conversation.sampling)[0],
        "context_policy": usable_context_policy(conversation.context_policy),
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

# What Lantern writes as a message's status; an answer exported while it was still being
# written comes back as cut short, since nothing will finish it.
STATUSES: tuple[MessageStatus, ...] = ("complete", "stopped", "interrupted", "failed")
STILL_WRITING: MessageStatus = "streaming"
TITLE_LENGTH = 200
MODEL_ID_LENGTH = 500
LARGEST_COUNT = 2**31 - 1  # token counts and windows are shown in Qt widgets (32-bit ints)
MESSAGE_LIST = 'a list of {"role": ..., "content": ...} messages'


def parse_conversation_file(text: str, source_name: str) -> NewConversation:
    """Lantern's JSON or an OpenAI-style message list, every field checked; anything else,
    or any field of the wrong type or out of range, is InvalidConversationFile."""
    try:
        document = json.loads(text)
    except RecursionError as exc:
        raise InvalidConversationFile(
            f"{source_name} is nested too deeply to be a conversation. Lantern imports its own "
            f"JSON export or {MESSAGE_LIST}."
        ) from exc
    except ValueError as exc:
        raise InvalidConversationFile(
            f"{source_name} is not JSON ({exc}). Lantern imports its own JSON export or "
            f"{MESSAGE_LIST}."
        ) from exc
    if isinstance(document, dict) and document.get("format") == FORMAT:
        return _from_lantern(document, source_name)
    if isinstance(document, dict) and isinstance(document.get("messages"), list):
        document = document["messages"]  # {"messages": [...]}, as chat requests are written
    if isinstance(document, list):
        return _from_message_list(document, source_name)
    raise InvalidConversationFile(
        f"{source_name} is neither a Lantern conversation nor {MESSAGE_LIST}."
    )


def _from_lantern(document: dict[str, Any], source: str) -> NewConversation:
    _check_version(document.get("version"), source)
    items = document.get("messages")
    if not isinstance(items, list):
        _refuse(source, "messages", "a list of messages")
    keys: set[int] = set()
    messages = [
        _lantern_message(raw, f"{source}, message {index}", keys)
        for index, raw in enumerate(items, 1)
    ]
    leaf = document.get("current_leaf")
    if leaf is not None and not (_is_whole(leaf) and leaf in keys):
        _refuse(source, "current_leaf", "the id of one of its messages, or null")
    title = _optional_text(document, "title", source) or ""
    return NewConversation(
        title=" ".join(title.split())[:TITLE_LENGTH] or "Imported conversation",
        messages=tuple(messages),
        system_prompt=_optional_text(document, "system_prompt", source),
        model_id=_model_id(document, source),
        pinned=_flag(document, "pinned", source),
        sampling=_sampling(document.get("sampling"), source),
        context_policy=_context_policy(document.get("context_policy"), source),
        current_leaf=leaf,
        created_at=_time(document, "created_at", source),
        updated_at=_time(document, "updated_at", source),
    )


def _check_version(version: Any, source: str) -> None:
    if _is_whole(version) and version > VERSION:
        raise InvalidConversationFile(
            f"{source} was written by a newer Lantern (format version {version}); update "
            "Lantern to import it."
        )
    if version != VERSION or not _is_whole(version):
        _refuse(source, "version", f"{VERSION}")


def _lantern_message(raw: Any, where: str, keys: set[int]) -> NewMessage:
    """One message of Lantern's JSON; `keys`, the ids of the messages before it, gains its own."""
    if not isinstance(raw, dict):
        raise InvalidConversationFile(f"{where} must be an object with 'id', 'role', 'content'.")
    key, parent = raw.get("id"), raw.get("parent")
    if not _is_whole(key) or key in keys:
        _refuse(where, "id", "a whole number used by no other message")
    if parent is not None and not (_is_whole(parent) and parent in keys):
        _refuse(where, "parent", "the id of an earlier message, or null")
    keys.add(key)
    return NewMessage(
        key=key,
        parent=parent,
        role=_role(raw.get("role"), where),
        content=_content(raw.get("content"), where),
        status=_status(raw.get("status"), where),
        model_id=_model_id(raw, where),
        stats=_stats(raw.get("stats"), where),
        error=_optional_text(raw, "error", where),
        created_at=_time(raw, "created_at", where),
        updated_at=_time(raw, "updated_at", where),
    )


def _from_message_list(items: list[Any], source: str) -> NewConversation:
    system_prompt = None
    messages: list[NewMessage] = []
    for index, raw in enumerate(items, 1):
        where = f"{source}, message {index}"
        if not isinstance(raw, dict):
            raise InvalidConversationFile(f'{where} must be {{"role": ..., "content": ...}}.')
        role, content = _role(raw.get("role"), where), _content(raw.get("content"), where)
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


# ---- one field each ----


def _refuse(where: str, name: str, must_be: str) -> NoReturn:
    raise InvalidConversationFile(f"{where}: '{name}' must be {must_be}.")


def _is_whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: Any) -> TypeGuard[str]:
    """A str that can be stored: SQLite takes UTF-8, which has no lone surrogates (a JSON
    escape such as \\ud800 gives one)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _optional_text(document: dict[str, Any], name: str, where: str) -> str | None:
    value = document.get(name)
    if value is not None and not _is_text(value):
        _refuse(where, name, "text or null")
    return value


def _model_id(document: dict[str, Any], where: str) -> str | None:
    value = document.get("model_id")
    if value is not None and not (_is_text(value) and len(value) <= MODEL_ID_LENGTH):
        _refuse(where, "model_id", f"a model id (text of at most {MODEL_ID_LENGTH} characters)")
    return value


def _flag(document: dict[str, Any], name: str, where: str) -> bool:
    value = document.get(name)
    if value is not None and not isinstance(value, bool):
        _refuse(where, name, "true or false")
    return bool(value)


def _role(value: Any, where: str) -> str:
    if value not in ROLES or not isinstance(value, str):
        _refuse(where, "role", f"one of {', '.join(ROLES)}")
    return value


def _status(value: Any, where: str) -> MessageStatus:
    if value is None:
        return "complete"
    if value == STILL_WRITING:
        return "interrupted"
    for status in STATUSES:
        if value == status and isinstance(value, str):
            return status
    _refuse(where, "status", f"one of {', '.join(STATUSES)}")


def _content(value: Any, where: str) -> str:
    """Text, or OpenAI content parts, of which the text ones are kept."""
    if _is_text(value):
        return value
    if not isinstance(value, list):
        _refuse(where, "content", "text or a list of text parts")
    texts: list[str] = []
    for number, part in enumerate(value, 1):
        name = f"content part {number}"
        if not isinstance(part, dict):
            raise InvalidConversationFile(
                f'{where}: {name} must be an object like {{"type": "text", "text": ...}}.'
            )
        if "text" not in part and part.get("type") != "text":
            continue  # an image or another kind of part: no text to keep
        text = part.get("text")
        if not _is_text(text):
            raise InvalidConversationFile(f"{where}: the 'text' of {name} must be text.")
        texts.append(text)
    return "".join(texts)


def _sampling(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        _refuse(where, "sampling", "an object of sampling settings, or null")
    for name, setting in value.items():
        if (problem := sampling_problem(name, setting)) is not None:
            raise InvalidConversationFile(f"{where}: in 'sampling', {problem}.")
    return value


def _context_policy(value: Any, where: str) -> str:
    if value is None:
        return DEFAULT_CONTEXT_POLICY
    if value not in CONTEXT_POLICIES or not isinstance(value, str):
        _refuse(where, "context_policy", f"one of {', '.join(CONTEXT_POLICIES)}")
    return value


def _stats(value: Any, where: str) -> dict[str, Any] | None:
    """An answer's figures, as the chat view and the context meter read them."""
    if value is None:
        return None
    if not isinstance(value, dict):
        _refuse(where, "stats", "an object of figures, or null")
    for name, figure in value.items():
        kind = STAT_KINDS.get(name)
        if figure is not None and not _figure_fits(kind, figure):
            _refuse(where, f"stats.{name}", _STAT_DESCRIPTIONS[kind])
    return value


def _figure_fits(kind: type | None, figure: Any) -> bool:
    if kind is int:
        return _is_whole(figure) and 0 <= figure <= LARGEST_COUNT
    if kind is float:
        return _is_number(figure) and 0 <= figure < math.inf
    if kind is str:
        return _is_text(figure)
    return isinstance(figure, str | int | float | bool)  # a figure Lantern does not read


def _time(document: dict[str, Any], name: str, where: str) -> datetime | None:
    """An ISO date and time, stored as Lantern stores times: in UTC, without a zone."""
    value = document.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError):  # not text, not a time, past year 9999
        _refuse(where, name, "a date and time such as 2024-05-01T12:30:00, or null")
    return moment


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _stat_kinds() -> dict[str, type]:
    """What each figure of a stored answer's stats holds: GenerationStats' fields, and the
    model and context window the chat adds."""
    kinds: dict[str, type] = {"model_id": str, "context_length": int}
    for name, hint in get_type_hints(GenerationStats).items():
        kinds[name] = next(k for k in (int, float) if k is hint or k in get_args(hint))
    return kinds


STAT_KINDS = _stat_kinds()
_STAT_DESCRIPTIONS: dict[type | None, str] = {
    int: f"a whole number from 0 to {LARGEST_COUNT}, or null",
    float: "a number of at least 0, or null",
    str: "text or null",
    None: "a number or text",
}
