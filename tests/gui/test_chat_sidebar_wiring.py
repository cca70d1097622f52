"""The conversation sidebar in the main window, with real parts (the starter model, the engine
process, the store): shortcuts, a new conversation listed after its answer, opening and
deleting conversations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QListWidget, QListWidgetItem

from desktop.services.app import Lantern
from desktop.store.repositories import (
    ConversationRecord,
    ConversationRepository,
    NewConversation,
    NewMessage,
)
from desktop.ui.main_window import CHAT_PAGE, MODELS_PAGE, MainWindow

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000


def add(lantern: Lantern, title: str, question: str, days_ago: int = 0) -> ConversationRecord:
    """A stored conversation: one question and its answer."""
    messages = (
        NewMessage(key=0, parent=None, role="user", content=question),
        NewMessage(key=1, parent=0, role="assistant", content=f"An answer about {title}."),
    )
    updated = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days_ago)
    new = NewConversation(title=title, messages=messages, updated_at=updated)
    return ConversationRepository(lantern.database).insert(new)


@pytest.fixture
def window(qtbot, short_answers, lantern: Lantern) -> Iterator[MainWindow]:
    add(lantern, "Sea shanties", "Which sea shanties are the oldest?", days_ago=1)
    add(lantern, "Bread baking", "How long should sourdough rise?")
    window = MainWindow(lantern)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()  # shortcuts go to the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT_MS)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(window.chat_page.sidebar.titles()) == 2, timeout=TIMEOUT_MS)
    yield window
    window.close()  # before the `lantern` fixture closes the engine and the store


def item_of(window: MainWindow, title: str) -> QListWidgetItem:
    view = window.chat_page.sidebar.conversation_list
    return next(view.item(row) for row in range(view.count()) if view.item(row).text() == title)


def click(qtbot, view: QListWidget, item: QListWidgetItem) -> None:
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualItemRect(item).center()
    )


def open_by_click(qtbot, window: MainWindow, title: str, question: str) -> None:
    click(qtbot, window.chat_page.sidebar.conversation_list, item_of(window, title))
    qtbot.waitUntil(lambda: question in window.chat_page.view.toPlainText(), timeout=TIMEOUT_MS)


def test_clicking_a_conversation_opens_it_and_another_replaces_it(qtbot, window, lantern):
    assert window.chat_page.sidebar.titles() == ["Bread baking", "Sea shanties"]
    assert window.chat_page.view.toPlainText() == ""

    open_by_click(qtbot, window, "Sea shanties", "Which sea shanties are the oldest?")
    assert "An answer about Sea shanties." in window.chat_page.view.toPlainText()
    open_by_click(qtbot, window, "Bread baking", "How long should sourdough rise?")
    assert "sea shanties" not in window.chat_page.view.toPlainText()
    bread = lantern.history.list_conversations()[0]
    assert window.chat_page.sidebar.selected_conversation_id() == bread.id


def test_a_search_result_opens_its_conversation(qtbot, window):
    open_by_click(qtbot, window, "Bread baking", "How long should sourdough rise?")
    sidebar = window.chat_page.sidebar
    with qtbot.waitSignal(sidebar.results_shown, timeout=TIMEOUT_MS) as shown:
        qtbot.keyClicks(sidebar.search_field, "shanties")
    assert shown.args == [2]  # the title is not searched; the question and the answer are
    click(qtbot, sidebar.results_list, sidebar.results_list.item(0))
    qtbot.waitUntil(
        lambda: "Which sea shanties are the oldest?" in window.chat_page.view.toPlainText(),
        timeout=TIMEOUT_MS,
    )
    # Once the search is cleared, the list shows the open conversation selected.
    sidebar.search_field.clear()
    qtbot.waitUntil(
        lambda: sidebar.conversation_list.currentItem() is item_of(window, "Sea shanties"),
        timeout=TIMEOUT_MS,
    )


def test_ctrl_n_starts_a_new_chat_and_ctrl_k_searches(qtbot, window):
    open_by_click(qtbot, window, "Sea shanties", "Which sea shanties are the oldest?")

    qtbot.keyClick(
        window.chat_page.sidebar.conversation_list,
        Qt.Key.Key_N,
        Qt.KeyboardModifier.ControlModifier,
    )
    assert window.chat_page.view.toPlainText() == ""
    assert window.chat_page.sidebar.selected_conversation_id() is None
    assert QApplication.focusWidget() is window.chat_page.input

    # Ctrl+K from the message box, and from the Models page, which gives way to Chat.
    qtbot.keyClick(window.chat_page.input, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.chat_page.sidebar.search_field
    qtbot.keyClick(
        window.chat_page.sidebar.search_field, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier
    )
    assert window.sections.currentIndex() == MODELS_PAGE
    qtbot.keyClick(
        QApplication.focusWidget() or window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier
    )
    assert window.sections.currentIndex() == CHAT_PAGE
    assert QApplication.focusWidget() is window.chat_page.sidebar.search_field

    # A refresh asked for while a conversation was open (as when a turn ends) and answered
    # after New chat does not select that conversation again: a click on it still opens it.
    open_by_click(qtbot, window, "Sea shanties", "Which sea shanties are the oldest?")
    sea = window.chat_page.sidebar.selected_conversation_id()
    with qtbot.waitSignal(window.chat_page.sidebar.refreshed, timeout=TIMEOUT_MS):
        window.chat_page.sidebar.refresh(select=sea)
        qtbot.keyClick(window.chat_page.input, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.chat_page.sidebar.selected_conversation_id() is None
    assert not window.chat_page.sidebar.conversation_list.selectedItems()
    open_by_click(qtbot, window, "Sea shanties", "Which sea shanties are the oldest?")

    # Ctrl+N from the Models page also comes back to Chat, ready to write.
    qtbot.keyClick(
        window.chat_page.sidebar.search_field, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier
    )
    qtbot.keyClick(
        QApplication.focusWidget() or window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier
    )
    assert window.sections.currentIndex() == CHAT_PAGE
    assert QApplication.focusWidget() is window.chat_page.input


def test_a_sent_message_lists_its_new_conversation_on_top_selected(qtbot, window, lantern):
    open_by_click(qtbot, window, "Sea shanties", "Which sea shanties are the oldest?")
    qtbot.mouseClick(window.chat_page.sidebar.new_chat_button, Qt.MouseButton.LeftButton)
    window.chat_page.input.setPlainText("Name three colours of the rainbow.")
    qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)

    # While it answers, the user can neither switch conversations nor start another.
    assert not window.chat_page.sidebar.conversation_list.isEnabled()
    assert not window.chat_page.sidebar.results_list.isEnabled()
    assert not window.chat_page.sidebar.new_chat_button.isEnabled()
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)

    newest = lantern.history.list_conversations()[0]
    assert newest.title not in ("Bread baking", "Sea shanties")
    qtbot.waitUntil(lambda: len(window.chat_page.sidebar.titles()) == 3, timeout=TIMEOUT_MS)
    assert window.chat_page.sidebar.titles() == [newest.title, "Bread baking", "Sea shanties"]
    assert window.chat_page.sidebar.selected_conversation_id() == newest.id
    assert window.chat_page.sidebar.conversation_list.isEnabled()
    assert window.chat_page.sidebar.new_chat_button.isEnabled()

    # A second turn in it keeps it selected.
    window.chat_page.input.setPlainText("And two more?")
    qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.chat_page.sidebar.refreshed, timeout=TIMEOUT_MS):
        pass
    assert window.chat_page.sidebar.selected_conversation_id() == newest.id
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    assert "And two more?" in window.chat_page.view.toPlainText()


def test_deleting_the_open_conversation_clears_the_view(qtbot, window, lantern):
    open_by_click(qtbot, window, "Sea shanties", "Which sea shanties are the oldest?")
    view = window.chat_page.sidebar.conversation_list

    with qtbot.waitSignal(window.chat_page.sidebar.conversation_deleted, timeout=TIMEOUT_MS):
        qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert window.chat_page.view.toPlainText() == ""
    assert window.chat_page.sidebar.titles() == ["Bread baking"]
    assert QApplication.focusWidget() is view  # Del again would delete the next one

    # Undo brings it back to the list; the view stays as it is. The next message starts a
    # new conversation.
    with qtbot.waitSignal(window.chat_page.sidebar.refreshed, timeout=TIMEOUT_MS):
        qtbot.mouseClick(window.chat_page.sidebar.undo_button, Qt.MouseButton.LeftButton)
    assert window.chat_page.sidebar.titles() == ["Bread baking", "Sea shanties"]
    assert window.chat_page.view.toPlainText() == ""
    assert window.chat_page.sidebar.selected_conversation_id() is None

    # Deleting another conversation leaves the open one alone.
    open_by_click(qtbot, window, "Bread baking", "How long should sourdough rise?")
    sea = next(c for c in lantern.history.list_conversations() if c.title == "Sea shanties")
    with qtbot.waitSignal(window.chat_page.sidebar.conversation_deleted, timeout=TIMEOUT_MS):
        window.chat_page.sidebar.delete_conversation(sea.id)
    assert "How long should sourdough rise?" in window.chat_page.view.toPlainText()
    assert window.chat_page.sidebar.titles() == ["Bread baking"]
