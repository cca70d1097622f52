"""The actions on a message, end to end with the real starter model: Regenerate, the branch
arrows, Edit, Continue; and a long conversation opening with only its last messages built,
more of them built as the reader scrolls up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from PySide6.QtCore import QPoint, Qt, QThreadPool
from PySide6.QtWidgets import QApplication, QWidget

from desktop.services.app import Lantern
from desktop.store.repositories import ConversationRepository, MessageRecord, MessageRepository
from desktop.ui.chat.message_widget import MessageWidget
from desktop.ui.chat.view import OPEN_SCREENS, PAGE_SIZE, ChatView
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
    window.close()  # before the `lantern` fixture closes the engine and the store
    assert not window.chat_page.answering()  # no turn left running
    pool = window.findChild(QThreadPool)
    assert pool is not None and pool.activeThreadCount() == 0


def idle(window: MainWindow) -> bool:
    return window.chat_page.send_button.isEnabled() and not window.chat_page.answering()


def send(qtbot, window: MainWindow, text: str) -> None:
    window.chat_page.input.setPlainText(text)
    qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: idle(window) and len(window.chat_page.view.widgets()) >= 2, timeout=TIMEOUT_MS
    )


def click(qtbot, button) -> None:
    assert button.isVisible() and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def last(window: MainWindow) -> MessageWidget:
    return window.chat_page.view.widgets()[-1]


def test_regenerate_adds_a_branch_and_the_arrows_go_back(qtbot, window, lantern):
    send(qtbot, window, "Say hello.")
    first = last(window).record()
    assert first.status == "complete"

    click(qtbot, last(window).regenerate_button)
    assert window.chat_page.stop_button.isEnabled()
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT_MS)
    widgets = window.chat_page.view.widgets()
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
    user = window.chat_page.view.widgets()[0]
    original = user.record()

    click(qtbot, user.edit_button)
    user.editor.setPlainText("Name a fruit.")
    click(qtbot, user.save_button)
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT_MS)

    widgets = window.chat_page.view.widgets()
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
    window.chat_page.open_conversation(answer.conversation_id)
    qtbot.waitUntil(
        lambda: idle(window) and last(window).record().status == "stopped", timeout=TIMEOUT_MS
    )
    widget = last(window)
    assert widget.continue_button.isVisible()

    click(qtbot, widget.continue_button)
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT_MS)

    assert last(window) is widget
    assert len(window.chat_page.view.widgets()) == 2
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

    window.chat_page.open_conversation(conversation.id)
    view = window.chat_page.view
    qtbot.waitUntil(lambda: bool(view.widgets()), timeout=TIMEOUT_MS)
    built = len(view.widgets())
    assert texts(view) == [f"Message number {n}." for n in range(200 - built, 200)]
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() >= view.viewport().height())  # a screen above
    # In the window, the view may change height as the page settles (the status line, the
    # meter), after the messages were built for the height it had: a screen's worth of them
    # at least, and far from all. (The exact two screens: the model-free test below.)
    assert built < 200 - PAGE_SIZE
    assert sum(widget.height() for widget in view.widgets()) >= view.viewport().height()
    assert bar.value() == bar.maximum()  # the last message in view, at the bottom
    button = view.show_earlier_button
    assert button.isVisible()

    # Reading up to within a screen of the first message built builds those before it,
    # and what the reader sees stays where it was.
    top = view.widgets()[0]
    bar.setValue(top.y() - 20)
    place = top.mapTo(view.viewport(), QPoint(0, 0)).y()
    qtbot.waitUntil(lambda: len(view.widgets()) > built)
    qtbot.waitUntil(lambda: top.mapTo(view.viewport(), QPoint(0, 0)).y() == place)
    more = len(view.widgets())
    assert texts(view) == [f"Message number {n}." for n in range(200 - more, 200)]

    click(qtbot, button)
    assert len(view.widgets()) == more + PAGE_SIZE
    assert view.widgets()[0].text() == f"Message number {200 - more - PAGE_SIZE}."
    while button.isVisible():
        click(qtbot, button)
    assert len(view.widgets()) == 200
    assert view.widgets()[0].text() == "Message number 0."


def texts(view: ChatView) -> list[str]:
    return [widget.text() for widget in view.widgets()]


def fill_the_view_and_no_more(view: ChatView) -> bool:
    """The widgets built on opening are two screens tall, and would not be without the first."""
    spacing = view.widget().layout().spacing()
    heights = [widget.height() + spacing for widget in view.widgets()]
    screens = OPEN_SCREENS * view.viewport().height()
    return sum(heights) >= screens > sum(heights[1:])


@pytest.fixture
def shown_view(qtbot) -> Iterator[ChatView]:
    parent = QWidget()  # held here for the test: it owns the view
    qtbot.addWidget(parent)
    view = ChatView(parent)
    view.resize(500, 400)
    parent.show()
    qtbot.waitExposed(view)
    yield view


def long_thread() -> list[MessageRecord]:
    """5,000 messages of one to four short paragraphs."""
    return [
        record(n, "user" if n % 2 == 0 else "assistant", f"Message **{n}**.\n\n" * (n % 4 + 1))
        for n in range(5000)
    ]


def test_opening_builds_what_fills_the_view_and_scrolling_up_builds_more(qtbot, shown_view):
    view, thread = shown_view, long_thread()
    view.show_messages(thread)
    built = len(view.widgets())
    assert [w.record().id for w in view.widgets()] == [m.id for m in thread[-built:]]
    assert all(w.isVisible() for w in view.widgets())
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() >= view.viewport().height())  # laid out
    assert fill_the_view_and_no_more(view)
    assert bar.value() == bar.maximum()
    for _ in range(3):  # what is queued runs: nothing more is built at the bottom
        QApplication.processEvents()
    assert len(view.widgets()) == built

    for _ in range(5):  # the reader scrolls up, a screen at a time
        count = len(view.widgets())
        bar.setValue(max(0, bar.value() - view.viewport().height()))
        anchor = view.widgets()[0]
        place = anchor.mapTo(view.viewport(), QPoint(0, 0)).y()
        if bar.value() < view.viewport().height():
            qtbot.waitUntil(lambda count=count: len(view.widgets()) > count)
            qtbot.waitUntil(
                lambda anchor=anchor, place=place: (
                    anchor.mapTo(view.viewport(), QPoint(0, 0)).y() == place
                )
            )
    built = len(view.widgets())
    assert built < 5000
    assert [w.record().id for w in view.widgets()] == [m.id for m in thread[-built:]]
    assert view.show_earlier_button.isVisible()


def test_opening_at_a_message_far_up_builds_a_window_around_it(qtbot, shown_view):
    """A search result 1,000 messages up: its widget, a screen above it and two below it are
    built, not the thousand from it to the end. A message sent then shows the end again."""
    view, thread = shown_view, long_thread()
    hit = thread[-1000]

    view.show_messages(thread, at=hit.id)
    for _ in range(3):  # what is queued runs: the reader has not scrolled
        QApplication.processEvents()
    ids = [widget.record().id for widget in view.widgets()]
    at = ids.index(hit.id)
    assert ids == [m.id for m in thread[4000 - at : 4000 - at + len(ids)]]
    assert len(ids) <= 2 * PAGE_SIZE  # of the 1,001 from it to the end
    spacing = view.widget().layout().spacing()
    heights = [widget.height() + spacing for widget in view.widgets()]
    screen = view.viewport().height()
    assert at <= PAGE_SIZE and sum(heights[1:at]) < screen  # a screen above it
    assert sum(heights[at + 1 : -1]) < OPEN_SCREENS * screen  # two screens below it

    view.add_user_message(record(5000, "user", "A new question."))
    built = len(view.widgets())
    assert [w.record().id for w in view.widgets()] == [m.id for m in thread[-built + 1 :]] + [5001]
    assert built <= 2 * PAGE_SIZE


def record(n: int, role: str, content: str) -> MessageRecord:
    moment = datetime(2024, 5, 1, 12, 0)
    return MessageRecord(
        n + 1, 1, n or None, role, content, "complete", None, None, None, moment, moment
    )


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
