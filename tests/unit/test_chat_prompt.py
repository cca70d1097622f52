from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from desktop.engine.protocol import ChatMessage
from desktop.tasks.chat import TITLE_LENGTH, chat_messages, conversation_title


@dataclass
class Stored:
    role: str
    content: str
    status: str = "complete"


def test_system_prompt_first_then_the_thread() -> None:
    thread = [Stored("user", "hi"), Stored("assistant", "hello"), Stored("user", "more")]
    assert chat_messages("be brief", thread) == (
        ChatMessage("system", "be brief"),
        ChatMessage("user", "hi"),
        ChatMessage("assistant", "hello"),
        ChatMessage("user", "more"),
    )


def test_empty_failed_answers_are_left_out_but_partial_ones_kept() -> None:
    thread = [
        Stored("user", "a"),
        Stored("assistant", "", "failed"),
        Stored("user", "b"),
        Stored("assistant", "half an ans", "interrupted"),
        Stored("user", "c"),
    ]
    roles = [(m.role, m.content) for m in chat_messages(None, thread)]
    assert roles == [("user", "a"), ("user", "b"), ("assistant", "half an ans"), ("user", "c")]


def test_title_is_the_first_line_shortened_on_a_word() -> None:
    assert conversation_title("  Hello\nthere  ") == "Hello there"
    long = "word " * 40
    title = conversation_title(long)
    assert title.endswith("…") and len(title) <= TITLE_LENGTH + 1
    assert not title[:-1].endswith(" ")


@given(st.text())
def test_title_is_never_empty_or_too_long(text: str) -> None:
    title = conversation_title(text)
    assert title and len(title) <= TITLE_LENGTH + 1
