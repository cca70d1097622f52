"""A conversation longer than the model's context window, in the window, on the real starter
model with a 384-token context: the answer says how many earlier messages were left out and
the meter shows the window full but not over; with the "stop" policy the answer is refused
with what to do, and the user's message is kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop.paths import app_paths
from desktop.services.app import Lantern
from desktop.settings import Settings, save_settings
from desktop.store.repositories import ConversationRepository, NewConversation, NewMessage
from desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000
CONTEXT = 384
PARAGRAPH = (
    "The lighthouse keeper wrote in her logbook every night: the weather, the ships that "
    "passed, the oil she burned, and the names of the gulls she had come to know. "
)


@pytest.fixture
def small_window(qtbot, installed_starter, lantern_home: Path) -> Iterator[tuple]:
    save_settings(app_paths().settings_file, Settings(context_length=CONTEXT, max_tokens=24))
    lantern = Lantern()
    messages = tuple(
        NewMessage(
            key=key,
            parent=key - 1 if key else None,
            role="user" if key % 2 == 0 else "assistant",
            content=f"Turn {key}. {PARAGRAPH}",
        )
        for key in range(8)  # about 45 tokens each: far more than 384 in all
    )
    conversation = ConversationRepository(lantern.database).insert(
        NewConversation(title="Logbook", messages=messages)
    )
    window = MainWindow(lantern)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    window.chat_page.open_conversation(conversation.id)
    qtbot.waitUntil(lambda: len(window.chat_page.view.widgets()) == 8, timeout=TIMEOUT_MS)
    assert (
        window.chat_page.context_meter.text() == "Context: not measured yet"
    )  # no answer measured
    yield window, lantern, conversation.id
    window.close()
    lantern.close()


def send(qtbot, window: MainWindow, text: str) -> None:
    window.chat_page.input.setPlainText(text)
    qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: not window.chat_page.answering() and len(window.chat_page.view.widgets()) >= 10,
        timeout=TIMEOUT_MS,
    )
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)


def test_the_oldest_turns_are_left_out_and_the_answer_says_so(qtbot, small_window) -> None:
    window, lantern, conversation_id = small_window
    send(qtbot, window, "What did she write about?")

    answer = window.chat_page.view.widgets()[-1]
    stored = answer.record()
    assert stored.status == "complete", stored.error
    dropped = stored.stats["dropped_messages"]
    assert dropped >= 2 and dropped % 2 == 0  # whole turns
    assert answer.dropped_label.isVisible()
    assert answer.dropped_label.text().startswith(f"{dropped} earlier messages were left out")
    # The meter: the window the answer had, nearly full, never over.
    meter = window.chat_page.context_meter
    assert meter.maximum() == CONTEXT and 0 < meter.value() <= CONTEXT
    assert meter.text().startswith("Context: ") and f"/ {CONTEXT} tokens" in meter.text()
    assert f"{dropped} earlier messages were left out" in meter.toolTip()
    # Nothing is deleted: only left out of what the model saw.
    assert len(lantern.chat.messages.thread(conversation_id)) == 10


def test_the_stop_policy_refuses_and_keeps_the_message(qtbot, small_window) -> None:
    window, lantern, conversation_id = small_window
    lantern.chat.set_parameters(conversation_id, context_policy="stop")
    send(qtbot, window, "What did she write about?")

    question, answer = window.chat_page.view.widgets()[-2:]
    assert question.text() == "What did she write about?"
    assert answer.record().status == "failed"
    assert answer.status_label.isVisible()
    assert "leave out the oldest messages" in answer.status_label.text()
    assert "leave out the oldest messages" in window.statusBar().currentMessage()
    thread = lantern.chat.messages.thread(conversation_id)
    assert thread[-2].content == "What did she write about?"  # kept, to send again
