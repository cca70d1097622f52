"""Finding one's place in a long conversation, with real widgets and a real store: a search
result opens its conversation at the message (built if it was not, on its branch if another
was shown, outlined a moment), and the branch arrows keep the message where it was on the
screen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from desktop.services.app import Lantern
from desktop.store.repositories import (
    ConversationRepository,
    MessageRepository,
    NewConversation,
    NewMessage,
)
from desktop.ui.chat.message_widget import MessageWidget
from desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000
TURNS = 60  # 120 messages: far more than a screen builds


def long_conversation(lantern: Lantern, *, branch_at: int | None = None) -> int:
    """TURNS questions and answers; answer `branch_at` also has an older version, which the
    conversation went on from for a few turns too (so either branch reads on below it)."""
    messages: list[NewMessage] = []

    def add(parent: int | None, role: str, content: str) -> int:
        messages.append(NewMessage(key=len(messages), parent=parent, role=role, content=content))
        return len(messages) - 1

    def turns(parent: int | None, numbers: range, ship: str) -> int | None:
        for turn in numbers:
            question = add(parent, "user", f"Question {turn}: tell me about {ship} {turn}.")
            if turn == branch_at:
                older = add(question, "assistant", f"An older answer about the albatross {turn}.")
                turns(older, range(turn + 1, turn + 6), "the older ship")
            parent = add(
                question,
                "assistant",
                f"Answer {turn}: {ship} {turn} sails at dawn.\n\n"
                + "More about its crew and cargo. " * 6,
            )
        return parent

    leaf = turns(None, range(TURNS), "ship")
    new = NewConversation(title="Ships", messages=tuple(messages), current_leaf=leaf)
    return ConversationRepository(lantern.database).insert(new).id


@pytest.fixture
def window(qtbot, lantern: Lantern) -> Iterator[MainWindow]:
    window = MainWindow(lantern)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    yield window
    window.close()


def widget_for(window: MainWindow, text_start: str) -> MessageWidget | None:
    return next(
        (w for w in window.chat_page.view.widgets() if w.text().startswith(text_start)), None
    )


def top_in_view(window: MainWindow, widget: MessageWidget) -> int:
    return widget.mapTo(window.chat_page.view.viewport(), QPoint(0, 0)).y()


def click_result(qtbot, results: QListWidget, item: QListWidgetItem) -> None:
    rect = results.visualItemRect(item)
    qtbot.mouseClick(results.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def search(qtbot, window: MainWindow, words: str) -> QListWidget:
    sidebar = window.chat_page.sidebar
    with qtbot.waitSignal(sidebar.results_shown, timeout=TIMEOUT_MS):
        qtbot.keyClicks(sidebar.search_field, words)
    return sidebar.results_list


def test_a_search_result_scrolls_to_its_message_far_up(qtbot, lantern, window) -> None:
    long_conversation(lantern)
    results = search(qtbot, window, "ship 7 sails")
    assert results.count() == 1
    click_result(qtbot, results, results.item(0))

    qtbot.waitUntil(lambda: widget_for(window, "Answer 7:") is not None, timeout=TIMEOUT_MS)
    target = widget_for(window, "Answer 7:")
    assert target is not None
    # Near the top of the view, outlined, with the messages around it built too.
    qtbot.waitUntil(lambda: 0 <= top_in_view(window, target) <= 20, timeout=TIMEOUT_MS)
    assert target.is_highlighted()
    assert widget_for(window, "Question 7:") is not None  # the screen above it is there
    qtbot.waitUntil(lambda: not target.is_highlighted(), timeout=TIMEOUT_MS)

    # Below it, the screens that follow; the rest is built as the reader scrolls down to it,
    # in order, to the conversation's last message.
    view = window.chat_page.view
    bar = view.verticalScrollBar()
    assert widget_for(window, "Answer 59:") is None

    def reader_scrolls_down() -> bool:  # to the bottom of what is laid out, again and again
        bar.setValue(bar.maximum())
        return widget_for(window, "Answer 59:") is not None

    qtbot.waitUntil(reader_scrolls_down, timeout=TIMEOUT_MS)
    shown = [widget.record() for widget in view.widgets()]
    assert shown == view.messages()[-len(shown) :]
    assert widget_for(window, "Question 7:") is not None  # none of them went


def test_a_result_on_another_branch_shows_that_branch(qtbot, lantern, window) -> None:
    conversation_id = long_conversation(lantern, branch_at=30)
    results = search(qtbot, window, "albatross")
    click_result(qtbot, results, results.item(0))

    qtbot.waitUntil(lambda: widget_for(window, "An older answer") is not None, timeout=TIMEOUT_MS)
    older = widget_for(window, "An older answer")
    assert older is not None and older.is_highlighted()
    assert older.branch_label.text() == "1/2"
    assert widget_for(window, "Answer 30:") is None
    # It stays the branch shown: the conversation reads that way when opened again.
    thread = MessageRepository(lantern.database).thread(conversation_id)
    assert any(m.content == "An older answer about the albatross 30." for m in thread)
    assert thread[-1].content.startswith("Answer 35: the older ship 35 sails")


def test_the_branch_arrows_keep_the_message_in_its_place(qtbot, lantern, window) -> None:
    conversation_id = long_conversation(lantern, branch_at=TURNS - 4)
    window.chat_page.open_conversation(conversation_id)
    newer_start = f"Answer {TURNS - 4}:"
    qtbot.waitUntil(lambda: widget_for(window, newer_start) is not None, timeout=TIMEOUT_MS)
    newer = widget_for(window, newer_start)
    assert newer is not None
    bar = window.chat_page.view.verticalScrollBar()
    # The messages are built before the view lays them out; until it has, the range is 0 and a
    # scroll does nothing, and the layout then shows the conversation's end (under load, a
    # poll could land between the two: the reader's scroll was lost). The reader scrolls a
    # conversation shown at its end.
    qtbot.waitUntil(lambda: 0 < bar.maximum() == bar.value(), timeout=TIMEOUT_MS)
    # The reader scrolls so that the answer is in mid-screen, then looks at the older one.
    bar.setValue(bar.value() + top_in_view(window, newer) - 250)
    qtbot.waitUntil(lambda: abs(top_in_view(window, newer) - 250) <= 2)
    qtbot.mouseClick(newer.previous_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: widget_for(window, "An older answer") is not None, timeout=TIMEOUT_MS)
    older = widget_for(window, "An older answer")
    assert older is not None
    qtbot.waitUntil(lambda: abs(top_in_view(window, older) - 250) <= 2, timeout=TIMEOUT_MS)
    assert not older.is_highlighted()  # an arrow is no search: nothing to point out


def test_a_new_chat_says_what_to_do_and_a_conversation_replaces_it(qtbot, lantern, window):
    hint = window.chat_page.view.empty_hint
    assert hint.isVisible() and "Write a message" in hint.text()
    window.chat_page.open_conversation(long_conversation(lantern))
    qtbot.waitUntil(lambda: bool(window.chat_page.view.widgets()), timeout=TIMEOUT_MS)
    assert not hint.isVisible()
    qtbot.keyClick(window.chat_page.input, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(hint.isVisible)
    assert window.chat_page.view.widgets() == []
