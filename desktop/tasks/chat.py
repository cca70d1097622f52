"""What the model is sent for a chat turn."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from desktop.engine.protocol import ChatMessage

TITLE_LENGTH = 60


class StoredMessage(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def content(self) -> str: ...


def chat_messages(
    system_prompt: str | None, thread: Iterable[StoredMessage]
) -> tuple[ChatMessage, ...]:
    """The system prompt, then the conversation so far.

    Answers that failed before writing anything are left out; a stopped or interrupted answer
    is sent as far as it got, since that is what the user saw.
    """
    messages = [ChatMessage("system", system_prompt)] if system_prompt else []
    for message in thread:
        if message.role == "assistant" and not message.content:
            continue
        if message.role in ("system", "user", "assistant"):
            messages.append(ChatMessage(message.role, message.content))  # type: ignore[arg-type]
    return tuple(messages)


def conversation_title(first_message: str) -> str:
    """A title from the first thing the user said: its first line, shortened on a word."""
    line = " ".join(first_message.strip().split())
    if len(line) <= TITLE_LENGTH:
        return line or "New conversation"
    cut = line[:TITLE_LENGTH].rsplit(" ", 1)[0]
    return (cut or line[:TITLE_LENGTH]) + "…"


def context_use(stats: Mapping[str, Any] | None, default_window: int) -> tuple[int, int] | None:
    """(tokens the conversation filled, the context window) from an answer's stored stats."""
    if not stats:
        return None
    used = int(stats.get("prompt_tokens") or 0) + int(stats.get("generated_tokens") or 0)
    return used, int(stats.get("context_length") or default_window)
