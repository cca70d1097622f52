"""The window's menus with real parts: theme and text size (applied at once, remembered for
the next start), and exporting and importing conversations through the file dialogs (which
are the only thing replaced: a test cannot click in a native dialog)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import QApplication, QFileDialog

from desktop.paths import app_paths
from desktop.services.app import Lantern
from desktop.settings import load_settings
from desktop.store.repositories import ConversationRepository, NewConversation, NewMessage
from desktop.ui.appearance import appearance
from desktop.ui.chat.message_widget import MessageEditor
from desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000


@pytest.fixture(autouse=True)
def desktop_look_afterwards() -> Iterator[None]:
    yield
    appearance().apply("system", None)  # the next tests see the desktop's look again


def open_window(qtbot, lantern: Lantern) -> MainWindow:
    window = MainWindow(lantern)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    return window


@pytest.fixture
def window(qtbot, lantern: Lantern) -> Iterator[MainWindow]:
    window = open_window(qtbot, lantern)
    yield window
    window.close()


def menu_action(window: MainWindow, text: str) -> QAction:
    for action in window.findChildren(QAction):
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"no menu item {text!r}")


def window_is_dark() -> bool:
    return QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def saved_settings():
    return load_settings(app_paths().settings_file)


def heading_is_light(window: MainWindow) -> bool:
    heading = window.chat_page.sidebar.conversation_list.item(0)  # "Today"
    return heading.foreground().color().lightness() > 128


def test_the_dark_theme_applies_at_once_and_at_the_next_start(qtbot, lantern, window) -> None:
    branched(lantern)
    window.chat_page.sidebar.refresh()
    qtbot.waitUntil(lambda: window.chat_page.sidebar.titles() == ["Lighthouse"])
    assert not window_is_dark() and not heading_is_light(window)
    menu_action(window, "Dark").trigger()
    assert window_is_dark()
    # The widgets follow: the list's headings are redrawn light on dark.
    qtbot.waitUntil(lambda: window.palette().color(QPalette.ColorRole.Base).lightness() < 128)
    qtbot.waitUntil(lambda: heading_is_light(window))
    qtbot.waitUntil(lambda: saved_settings().theme == "dark", timeout=TIMEOUT_MS)
    window.close()

    appearance().apply("system", None)  # as a fresh start would find the desktop
    again = open_window(qtbot, lantern)
    qtbot.waitUntil(window_is_dark, timeout=TIMEOUT_MS)
    assert menu_action(again, "Dark").isChecked()
    menu_action(again, "Follow the system").trigger()
    assert not window_is_dark()
    qtbot.waitUntil(lambda: saved_settings().theme == "system", timeout=TIMEOUT_MS)
    again.close()


def test_text_size_steps_and_resets(qtbot, window) -> None:
    desktop_size = QApplication.font().pointSize()
    input_height = window.chat_page.input.height()
    menu_action(window, "Larger text").trigger()
    menu_action(window, "Larger text").trigger()
    assert QApplication.font().pointSize() == desktop_size + 2
    qtbot.waitUntil(lambda: window.chat_page.view.font().pointSize() == desktop_size + 2)
    qtbot.waitUntil(lambda: window.chat_page.input.height() > input_height)  # four lines, larger
    qtbot.waitUntil(lambda: saved_settings().font_size == desktop_size + 2, timeout=TIMEOUT_MS)
    menu_action(window, "Smaller text").trigger()
    assert QApplication.font().pointSize() == desktop_size + 1
    menu_action(window, "Default text size").trigger()
    assert QApplication.font().pointSize() == desktop_size
    qtbot.waitUntil(lambda: saved_settings().font_size is None, timeout=TIMEOUT_MS)


def branched(lantern: Lantern) -> int:
    """A conversation whose answer was regenerated: two answers to one question."""
    messages = (
        NewMessage(key=0, parent=None, role="user", content="Where is the lighthouse?"),
        NewMessage(key=1, parent=0, role="assistant", content="Off the **port** bow."),
        NewMessage(key=2, parent=0, role="assistant", content="Two miles north, captain."),
    )
    new = NewConversation(title="Lighthouse", messages=messages, system_prompt="Be a sailor.")
    return ConversationRepository(lantern.database).insert(new).id


def test_export_then_import_gives_the_same_conversation_back(
    qtbot, lantern, window, tmp_path: Path, monkeypatch
) -> None:
    conversation_id = branched(lantern)
    window.chat_page.sidebar.refresh()
    qtbot.waitUntil(lambda: window.chat_page.sidebar.conversation_item(conversation_id) is not None)
    window.chat_page.open_conversation(conversation_id)
    qtbot.waitUntil(lambda: len(window.chat_page.view.widgets()) == 2, timeout=TIMEOUT_MS)

    exported = tmp_path / "lighthouse"  # no suffix typed: the chosen filter's is added
    monkeypatch.setattr(
        QFileDialog,
        "getSaveFileName",
        lambda *_: (str(exported), "Lantern JSON, every branch (*.json)"),
    )
    window.chat_page.export_action.trigger()
    file = tmp_path / "lighthouse.json"
    qtbot.waitUntil(
        lambda: window.statusBar().currentMessage() == f"Exported to {file}", timeout=TIMEOUT_MS
    )

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_: (str(file), ""))
    menu_action(window, "Import conversation…").trigger()
    qtbot.waitUntil(
        lambda: window.chat_page.conversation_id not in (None, conversation_id), timeout=TIMEOUT_MS
    )
    imported_id = window.chat_page.conversation_id
    assert imported_id is not None
    qtbot.waitUntil(lambda: len(window.chat_page.sidebar.titles()) == 2, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(window.chat_page.view.widgets()) == 2, timeout=TIMEOUT_MS)
    assert [w.text() for w in window.chat_page.view.widgets()] == [
        "Where is the lighthouse?",
        "Two miles north, captain.",
    ]
    # Every branch came back: the file of the copy is the file of the original.
    assert lantern.history.export(imported_id, "json") == file.read_text(encoding="utf-8")


def test_a_file_that_is_no_conversation_is_refused_with_a_reason(
    qtbot, window, tmp_path: Path, monkeypatch
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_: (str(notes), ""))
    menu_action(window, "Import conversation…").trigger()
    qtbot.waitUntil(
        lambda: window.statusBar().currentMessage().startswith("notes.txt is not JSON"),
        timeout=TIMEOUT_MS,
    )
    assert window.chat_page.sidebar.titles() == []


def test_markdown_export_of_the_shown_branch(qtbot, lantern, window, tmp_path, monkeypatch):
    conversation_id = branched(lantern)
    window.chat_page.open_conversation(conversation_id)
    qtbot.waitUntil(lambda: len(window.chat_page.view.widgets()) == 2, timeout=TIMEOUT_MS)
    target = tmp_path / "sailor.md"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *_: (str(target), "Web page (*.html)")
    )
    window.chat_page.export_action.trigger()  # the typed suffix wins over the filter
    qtbot.waitUntil(target.exists, timeout=TIMEOUT_MS)
    text = target.read_text(encoding="utf-8")
    assert "Two miles north, captain." in text and "port" not in text


def test_escape_cancels_an_edit_and_clears_a_search_rather_than_stopping(
    qtbot, lantern, window
) -> None:
    conversation_id = branched(lantern)
    window.chat_page.open_conversation(conversation_id)
    qtbot.waitUntil(lambda: len(window.chat_page.view.widgets()) == 2, timeout=TIMEOUT_MS)
    question = window.chat_page.view.widgets()[0]
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.mouseClick(question.edit_button, Qt.MouseButton.LeftButton)
    editor = question.findChild(MessageEditor)
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClicks(editor, " And the fog?")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert not editor.isVisible()
    assert question.text() == "Where is the lighthouse?"

    field = window.chat_page.sidebar.search_field
    field.setFocus()
    qtbot.keyClicks(field, "lighthouse")
    qtbot.keyClick(field, Qt.Key.Key_Escape)
    assert field.text() == ""
