"""System prompt and parameters from the main window, with the real starter model: chosen
before a new chat's first message they go to that conversation; chosen for an open one they
are saved and used by its next answer; a preset saved in one conversation applies to another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QInputDialog

from desktop.services.app import Lantern
from desktop.services.chat import ConversationParameters
from desktop.ui.chat.conversation_settings import ConversationSettingsDialog
from desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000


@pytest.fixture
def window(qtbot, short_answers, lantern: Lantern) -> Iterator[MainWindow]:
    window = MainWindow(lantern)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    yield window
    window.close()


def open_dialog(qtbot, window: MainWindow) -> ConversationSettingsDialog:
    qtbot.mouseClick(window.chat_page.parameters_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.findChild(ConversationSettingsDialog) is not None, timeout=TIMEOUT_MS
    )
    dialog = window.findChild(ConversationSettingsDialog)
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=TIMEOUT_MS)  # presets read
    return dialog


def press_ok(qtbot, dialog: ConversationSettingsDialog) -> None:
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)


def set_max_tokens(dialog: ConversationSettingsDialog, tokens: int) -> None:
    dialog.spins["max_tokens"].setValue(tokens)  # typing in it unticks "Default"
    assert not dialog.default_boxes["max_tokens"].isChecked()


def send(qtbot, window: MainWindow, text: str) -> None:
    window.chat_page.input.setPlainText(text)
    qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.chat_page.send_button.isEnabled() and not window.chat_page.answering(),
        timeout=TIMEOUT_MS,
    )


def test_settings_chosen_before_the_first_message_go_to_the_new_conversation(
    qtbot, lantern, window
) -> None:
    dialog = open_dialog(qtbot, window)
    dialog.prompt_edit.setPlainText("You are a lighthouse keeper.")
    set_max_tokens(dialog, 6)
    press_ok(qtbot, dialog)
    assert "next new conversation" in window.statusBar().currentMessage()

    send(qtbot, window, "Tell me a long story about the sea.")
    conversation = lantern.chat.conversations.get(window.chat_page.conversation_id)
    assert ConversationParameters.of(conversation) == ConversationParameters(
        "You are a lighthouse keeper.", {"max_tokens": 6}
    )
    answer = lantern.chat.messages.thread(conversation.id)[-1]
    assert answer.stats["generated_tokens"] <= 6  # the answer was cut where the user said

    # The one after it starts plain again.
    window.new_chat()
    dialog = open_dialog(qtbot, window)
    assert dialog.parameters() == ConversationParameters()
    dialog.reject()


def test_an_open_conversation_keeps_its_changed_settings(qtbot, lantern, window) -> None:
    send(qtbot, window, "Hello!")
    conversation_id = window.chat_page.conversation_id
    dialog = open_dialog(qtbot, window)
    set_max_tokens(dialog, 4)
    dialog.stop_radio.setChecked(True)
    press_ok(qtbot, dialog)
    qtbot.waitUntil(
        lambda: window.statusBar().currentMessage() == "Saved for this conversation.",
        timeout=TIMEOUT_MS,
    )
    stored = lantern.chat.conversations.get(conversation_id)
    assert stored.sampling == {"max_tokens": 4} and stored.context_policy == "stop"

    send(qtbot, window, "Tell me everything about lighthouses.")
    assert lantern.chat.messages.thread(conversation_id)[-1].stats["generated_tokens"] <= 4

    # Reopened, the dialog shows them.
    window.new_chat()
    window.chat_page.open_conversation(conversation_id)
    qtbot.waitUntil(lambda: len(window.chat_page.view.widgets()) == 4, timeout=TIMEOUT_MS)
    dialog = open_dialog(qtbot, window)
    assert dialog.parameters() == ConversationParameters("", {"max_tokens": 4}, "stop")
    dialog.reject()


def test_a_preset_saved_in_one_conversation_applies_in_another(
    qtbot, lantern, window, monkeypatch, tmp_path: Path
) -> None:
    send(qtbot, window, "First conversation.")
    dialog = open_dialog(qtbot, window)
    dialog.prompt_edit.setPlainText("Answer in one word.")
    set_max_tokens(dialog, 3)
    monkeypatch.setattr(QInputDialog, "getText", lambda *_, **__: ("Terse", True))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Terse" in dialog.preset_names(), timeout=TIMEOUT_MS)
    dialog.reject()

    window.new_chat()
    send(qtbot, window, "Second conversation.")
    second = window.chat_page.conversation_id
    dialog = open_dialog(qtbot, window)
    dialog.preset_box.setCurrentText("Terse")
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    press_ok(qtbot, dialog)
    qtbot.waitUntil(
        lambda: lantern.chat.conversations.get(second).system_prompt == "Answer in one word.",
        timeout=TIMEOUT_MS,
    )
    assert lantern.chat.conversations.get(second).sampling == {"max_tokens": 3}
