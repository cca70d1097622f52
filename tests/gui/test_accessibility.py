"""What a screen reader gets: every control a user can reach on the Chat page, the Models page,
the writing pages, the Server page and the parameters dialog has a name (Qt's accessibility
interface, as assistive technology reads it), and the keyboard reaches the message box, Send
and the conversation list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from desktop.services.app import Lantern
from desktop.store.repositories import ConversationRepository, NewConversation, NewMessage
from desktop.ui.chat.conversation_settings import ConversationSettingsDialog
from desktop.ui.main_window import (
    CHAT_PAGE,
    MODELS_PAGE,
    PLAYGROUND_PAGE,
    SERVER_PAGE,
    SUMMARIZE_PAGE,
    TRANSLATE_PAGE,
    MainWindow,
)

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000
CONTROLS = (QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit, QAbstractSpinBox,
            QAbstractItemView, QTextEdit)  # fmt: skip


def unnamed_controls(root: QWidget) -> list[str]:
    """The visible, enabled-or-not controls under `root` that a screen reader cannot name."""
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisible():
            continue
        if isinstance(widget.parent(), (QAbstractSpinBox, QComboBox)):
            continue  # the editor inside a spin box or combo box: the box itself is named
        if widget.focusPolicy() == widget.focusPolicy().NoFocus and not isinstance(
            widget, QAbstractButton
        ):
            continue  # e.g. a read-only viewer's internals
        interface = QAccessible.queryAccessibleInterface(widget)
        name = interface.text(QAccessible.Text.Name) if interface is not None else ""
        if not name.strip():
            missing.append(f"{type(widget).__name__} {widget.objectName()!r} in {root}")
    return missing


@pytest.fixture
def window(qtbot, lantern: Lantern) -> Iterator[MainWindow]:
    messages = (
        NewMessage(key=0, parent=None, role="user", content="What is `ls`?"),
        NewMessage(key=1, parent=0, role="assistant", content="It lists files:\n```sh\nls\n```"),
        NewMessage(key=2, parent=0, role="assistant", content="A command.", status="stopped"),
    )
    new = NewConversation(title="Shell", messages=messages)
    conversation = ConversationRepository(lantern.database).insert(new)
    window = MainWindow(lantern)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    window.chat_page.open_conversation(conversation.id)
    qtbot.waitUntil(lambda: len(window.chat_page.view.widgets()) == 2, timeout=TIMEOUT_MS)
    yield window
    window.close()


def test_every_control_of_the_chat_page_has_a_name(window: MainWindow) -> None:
    window.show_page(CHAT_PAGE)
    answer = window.chat_page.view.widgets()[-1]
    assert answer.continue_button.isVisible() and answer.previous_button.isVisible()
    assert unnamed_controls(window) == []


def test_every_control_of_the_models_page_has_a_name(qtbot, window: MainWindow) -> None:
    window.show_page(MODELS_PAGE)
    qtbot.waitUntil(window.models_page.isVisible)
    assert unnamed_controls(window) == []


@pytest.mark.parametrize("page", [SUMMARIZE_PAGE, TRANSLATE_PAGE, PLAYGROUND_PAGE, SERVER_PAGE])
def test_every_control_of_the_writing_and_server_pages_has_a_name(
    qtbot, window: MainWindow, page
) -> None:
    window.show_page(page)
    qtbot.waitUntil(window.sections.currentWidget().isVisible)
    assert unnamed_controls(window) == []


def test_every_control_of_the_parameters_dialog_has_a_name(qtbot, window: MainWindow) -> None:
    window.chat_page.edit_parameters()
    qtbot.waitUntil(lambda: window.findChild(ConversationSettingsDialog) is not None)
    dialog = window.findChild(ConversationSettingsDialog)
    qtbot.waitUntil(dialog.isVisible)
    assert unnamed_controls(dialog) == []
    dialog.reject()


def test_tab_reaches_the_message_box_and_send(qtbot, window: MainWindow) -> None:
    window.chat_page.input.setFocus()
    qtbot.waitUntil(window.chat_page.input.hasFocus)
    window.chat_page.input.setPlainText("Hello")
    reached = set()
    for _ in range(40):  # Tab goes round the window
        window.focusNextChild()
        reached.add(window.focusWidget())
    assert window.chat_page.send_button in reached
    assert window.chat_page.sidebar.conversation_list in reached
    assert window.chat_page.sidebar.search_field in reached
