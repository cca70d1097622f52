"""The actions on a message, end to end with the real starter model: Regenerate, the branch
arrows, Edit, Continue; and a long conversation opening with only its last messages built."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import QWidget

from desktop.paths import app_paths
from desktop.services.app import Lantern
from desktop.settings import Settings, save_settings
from desktop.store.repositories import ConversationRepository, MessageRepository
from desktop.ui.chat.message_widget import MessageWidget
from desktop.ui.chat.view import PAGE_SIZE, ChatView
from desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000


@pytest.fixture
def short_answers(lantern_home: Path) -> None:
    save_settings(app_paths().settings_file, Settings(max_tokens=24))


@pytest.fixture
def window(qtbot, short_answers, lantern: Lantern) -> Iterator[MainWindow]:
    window = MainWindow(lantern)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.send_button.isEnabled, timeout=TIMEOUT_MS)
    yield window
    window.close()  # before the `lantern` fixture closes the engine and the store
    assert window._thread is None  # no turn left running
    pool = window.findChild(QThreadPool)
    assert pool is not None and pool.activeThreadCount() == 0


def idle(window: MainWindow) -> bool:
    return window.send_button.isEnabled() and window._run is None


def send(qtbot, window: MainWindow, text: str) -> None:
    window.input.setPlainText(text)
    qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: idle(window) and len(window.view.widgets()) >= 2, timeout=TIMEOUT_MS)


def click(qtbot, button) -> None:
    assert button.isVisible() and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def last(window: MainWindow) -> MessageWidget:
    return window.view.widgets()[-1]


def test_regenerate_adds_a_branch_and_the_arrows_go_back(qtbot, window, lantern):
    send(qtbot, window, "Say hello.")
    first = last(window).record()
    assert first.status == "complete"

    click(qtbot, last(window).regenerate_button)
    assert window.stop_button.isEnabled()
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT_MS)
    widgets = window.view.widgets()
    assert len(widgets) == 2
    second = widgets[-1].record()
    assert second.id != first.id and second.parent_id == first.parent_id
    assert widgets[-1].branch_label.isVisible()
    assert widgets[-1].branch_label.text() == "2/2"
    assert lantern.chat.branches(second.id) == (2, 2)

    click(qtbot, widgets[-1].previous_button)
    qtbot.waitUntil(lambda: last(window).record().id == first.id, timeout=TIMEOUT_MS)
    assert last(window).branch_label.text() == "1/2"
    assert last(window).text() == first.content
    conversation_id = first.conversation_id
    assert lantern.chat.conversation(conversation_id)[1][-1].id == first.id

    click(qtbot, last(window).next_button)
    qtbot.waitUntil(lambda: last(window).record().id == second.id, timeout=TIMEOUT_MS)
    assert last(window).branch_label.text() == "2/2"


def test_editing_a_message_branches_with_the_new_text(qtbot, window, lantern):
    send(qtbot, window, "Name a colour.")
    user = window.view.widgets()[0]
    original = user.record()

    click(qtbot, user.edit_button)
    user.editor.setPlainText("Name a fruit.")
    click(qtbot, user.save_button)
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT_MS)

    widgets = window.view.widgets()
    assert len(widgets) == 2
    edited = widgets[0].record()
    assert edited.id != original.id and edited.content == "Name a fruit."
    assert widgets[0].text() == "Name a fruit."
    assert widgets[0].branch_label.text() == "2/2"
    assert widgets[1].record().parent_id == edited.id
    assert widgets[1].record().status == "complete"
    messages = lantern.chat.conversation(edited.conversation_id)[1]
    assert [m.id for m in messages] == [w.record().id for w in widgets]


def test_continue_extends_a_stopped_answer_in_the_same_widget(qtbot, window, lantern):
    # A stopped answer, as Stop leaves it (stopping a 24-token answer in time is a race).
    send(qtbot, window, "Tell me about lighthouses.")
    answer = last(window).record()
    stopped = lantern.chat.messages.finish(answer.id, content=answer.content[:10], status="stopped")
    window.open_conversation(answer.conversation_id)
    qtbot.waitUntil(
        lambda: idle(window) and last(window).record().status == "stopped", timeout=TIMEOUT_MS
    )
    widget = last(window)
    assert widget.continue_button.isVisible()

    click(qtbot, widget.continue_button)
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT_MS)

    assert last(window) is widget
    assert len(window.view.widgets()) == 2
    final = lantern.chat.messages.get(answer.id)
    assert final.status in ("complete", "stopped")
    assert final.content.startswith(stopped.content)
    assert len(final.content) > len(stopped.content)
    assert widget.text() == final.content
    assert widget.record().status == final.status


def test_a_long_conversation_builds_only_its_last_messages(qtbot, window, lantern):
    conversation = ConversationRepository(lantern.database).create("Long talk")
    messages = MessageRepository(lantern.database)
    parent = None
    for n in range(200):
        role = "user" if n % 2 == 0 else "assistant"
        parent = messages.add(conversation.id, role, f"Message number {n}.", parent_id=parent).id

    window.open_conversation(conversation.id)
    qtbot.waitUntil(lambda: len(window.view.widgets()) == PAGE_SIZE, timeout=TIMEOUT_MS)
    widgets = window.view.widgets()
    assert widgets[-1].text() == "Message number 199."
    assert widgets[0].text() == f"Message number {200 - PAGE_SIZE}."
    button = window.view.show_earlier_button
    assert button.isVisible()

    click(qtbot, button)
    assert len(window.view.widgets()) == 2 * PAGE_SIZE
    assert window.view.widgets()[0].text() == f"Message number {200 - 2 * PAGE_SIZE}."
    click(qtbot, button)
    click(qtbot, button)
    assert len(window.view.widgets()) == 200
    assert window.view.widgets()[0].text() == "Message number 0."
    assert not button.isVisible()


def test_the_view_follows_the_answer_only_from_the_bottom(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    view = ChatView(parent)
    view.resize(400, 300)
    parent.show()
    view.begin_answer()
    bar = view.verticalScrollBar()
    view.append_answer("line\n\n" * 80)
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())

    bar.setValue(0)  # the reader scrolls up to read
    view.append_answer("more\n\n" * 40)
    old_maximum = bar.maximum()
    qtbot.waitUntil(lambda: bar.maximum() > old_maximum)
    assert bar.value() == 0
