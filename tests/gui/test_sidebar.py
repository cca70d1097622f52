"""The conversation sidebar on a real store (no model): date headings, rename, pin, delete with
undo, search with bold matches; and the Qt-free date grouping with a fixed "now"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from PySide6.QtCore import Qt, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication, QLineEdit, QMenu

from desktop.services.app import Lantern
from desktop.store.repositories import (
    ConversationRecord,
    ConversationRepository,
    MessageRepository,
    NewConversation,
    NewMessage,
)
from desktop.store.search import MATCH_END, MATCH_START
from desktop.ui.bridge import BackgroundTasks
from desktop.ui.chat.date_groups import MONTHS, group_by_date, group_label, local_date
from desktop.ui.chat.sidebar import HTML_ROLE, ConversationSidebar, snippet_html

pytestmark = pytest.mark.gui

TIMEOUT_MS = 10_000


# ---- the date headings, Qt-free ----


@dataclass(frozen=True)
class Row:
    title: str
    updated_at: datetime  # naive UTC, as the store writes it
    pinned: bool = False


NEW_YORK_SUMMER = timezone(timedelta(hours=-4))
# 03:00 UTC on 15 October is still 14 October, 23:00, in New York.
NOW = datetime(2026, 10, 15, 3, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour)


def test_headings_follow_the_local_day_not_the_utc_one() -> None:
    assert local_date(utc(2026, 10, 15, 1), NEW_YORK_SUMMER) == date(2026, 10, 14)
    rows = [
        Row("late evening here, tomorrow in UTC", utc(2026, 10, 15, 1)),
        Row("this morning", utc(2026, 10, 14, 13)),
        Row("yesterday evening here", utc(2026, 10, 14, 2)),  # 13 Oct, 22:00 local
        Row("three days ago", utc(2026, 10, 11)),
        Row("a week ago", utc(2026, 10, 7)),
        Row("eight days ago", utc(2026, 10, 6)),
        Row("thirty days ago", utc(2026, 9, 14)),
        Row("thirty-one days ago", utc(2026, 9, 13)),
        Row("in August", utc(2026, 8, 2)),
        Row("new year's eve, last year", utc(2025, 12, 31, 20)),
        Row("pinned long ago", utc(2024, 1, 1), pinned=True),
        Row("clock ahead", utc(2026, 10, 20)),
    ]
    groups = group_by_date(rows, now=NOW, tz=NEW_YORK_SUMMER)
    assert [(group.label, [row.title for row in group.items]) for group in groups] == [
        ("Pinned", ["pinned long ago"]),
        ("Today", ["clock ahead", "late evening here, tomorrow in UTC", "this morning"]),
        ("Yesterday", ["yesterday evening here"]),
        ("Previous 7 days", ["three days ago", "a week ago"]),
        ("Previous 30 days", ["eight days ago", "thirty days ago"]),
        ("September 2026", ["thirty-one days ago"]),
        ("August 2026", ["in August"]),
        ("December 2025", ["new year's eve, last year"]),
    ]


def test_group_label_boundaries() -> None:
    today = date(2026, 3, 1)
    assert group_label(date(2026, 3, 1), today) == "Today"
    assert group_label(date(2026, 2, 28), today) == "Yesterday"
    assert group_label(date(2026, 2, 22), today) == "Previous 7 days"
    assert group_label(date(2026, 2, 21), today) == "Previous 30 days"
    assert group_label(date(2026, 1, 30), today) == "Previous 30 days"
    assert group_label(date(2026, 1, 29), today) == "January 2026"
    assert group_by_date([], now=NOW) == []


def test_snippet_markers_become_bold_and_the_rest_is_escaped() -> None:
    snippet = f"a <i>tag</i> & {MATCH_START}word{MATCH_END}\nnext"
    assert snippet_html(snippet) == "a &lt;i&gt;tag&lt;/i&gt; &amp; <b>word</b> next"
    markdown = f"# Title\nUse **{MATCH_START}bold{MATCH_END}** and `code`:\n```python\nx = 2 * 3"
    assert snippet_html(markdown) == "Title Use <b>bold</b> and code: python x = 2 * 3"


# ---- the widget on a real store ----


def local_noon(days_ago: int) -> datetime:
    """Noon, `days_ago` days before today in the local zone, as naive UTC."""
    day = datetime.now().astimezone().date() - timedelta(days=days_ago)
    return datetime.combine(day, time(12)).astimezone().astimezone(UTC).replace(tzinfo=None)


def month_heading(days_ago: int) -> str:
    day = datetime.now().astimezone().date() - timedelta(days=days_ago)
    return f"{MONTHS[day.month - 1]} {day.year}"


@pytest.fixture
def lantern(lantern_home) -> Iterator[Lantern]:
    app = Lantern()
    yield app
    app.close()


def add(
    lantern: Lantern,
    title: str,
    days_ago: int = 0,
    *,
    pinned: bool = False,
    texts: tuple[str, ...] = ("Hello there.", "Hello! How can I help?"),
) -> ConversationRecord:
    messages = tuple(
        NewMessage(
            key=key,
            parent=key - 1 if key else None,
            role="user" if key % 2 == 0 else "assistant",
            content=text,
        )
        for key, text in enumerate(texts)
    )
    new = NewConversation(
        title=title, messages=messages, pinned=pinned, updated_at=local_noon(days_ago)
    )
    return ConversationRepository(lantern.database).insert(new)


OpenSidebar = Callable[..., ConversationSidebar]


@pytest.fixture
def open_sidebar(qtbot, lantern: Lantern) -> Iterator[OpenSidebar]:
    pool = QThreadPool()
    tasks = BackgroundTasks(pool)

    def open_it(**options: int) -> ConversationSidebar:
        sidebar = ConversationSidebar(lantern, tasks, **options)
        qtbot.addWidget(sidebar)
        sidebar.resize(280, 640)
        sidebar.show()
        with qtbot.waitSignal(sidebar.refreshed, timeout=TIMEOUT_MS):
            sidebar.refresh()  # as the chat page does when it starts
        return sidebar

    yield open_it
    # As the window does on close; then nothing of the sidebar's may still run.
    tasks.close()
    pool.waitForDone()
    assert pool.activeThreadCount() == 0


def stored_titles(lantern: Lantern) -> list[str]:
    return [record.title for record in lantern.history.list_conversations()]


def test_conversations_appear_under_date_headings_pinned_first(
    qtbot, lantern: Lantern, open_sidebar: OpenSidebar
) -> None:
    add(lantern, "Old recipe", 80)
    add(lantern, "Tax questions", 45)
    add(lantern, "Pinned notes", 60, pinned=True)
    add(lantern, "Holiday plans", 12)
    add(lantern, "Python decorators", 3)
    add(lantern, "Yesterday's poem", 1)
    add(lantern, "Morning chat", 0)
    sidebar = open_sidebar()

    assert sidebar.headers() == [
        "Pinned",
        "Today",
        "Yesterday",
        "Previous 7 days",
        "Previous 30 days",
        month_heading(45),
        month_heading(80),
    ]
    assert sidebar.titles() == [
        "Pinned notes",
        "Morning chat",
        "Yesterday's poem",
        "Python decorators",
        "Holiday plans",
        "Tax questions",
        "Old recipe",
    ]
    assert sidebar.conversation_list.accessibleName() == "Conversations"
    assert sidebar.search_field.accessibleName() == "Search all conversations"
    assert sidebar.search_field.placeholderText() == "Search all conversations"
    assert sidebar.new_chat_button.accessibleName() == "New chat"
    assert sidebar.undo_button.accessibleName() == "Undo delete"
    with qtbot.waitSignal(sidebar.new_chat_requested, timeout=TIMEOUT_MS):
        qtbot.mouseClick(sidebar.new_chat_button, Qt.MouseButton.LeftButton)


def test_selecting_emits_the_id_and_refresh_keeps_the_selection(
    qtbot, lantern: Lantern, open_sidebar: OpenSidebar
) -> None:
    first = add(lantern, "First", 2)
    second = add(lantern, "Second", 0)
    sidebar = open_sidebar()
    view = sidebar.conversation_list

    item = sidebar.conversation_item(first.id)
    assert item is not None
    with qtbot.waitSignal(sidebar.conversation_selected, timeout=TIMEOUT_MS) as picked:
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualItemRect(item).center()
        )
    assert picked.args == [first.id]

    # The keyboard skips headings: Up from "First" lands on "Second", across "Previous 7 days".
    with qtbot.waitSignal(sidebar.conversation_selected, timeout=TIMEOUT_MS) as picked:
        qtbot.keyClick(view, Qt.Key.Key_Up)
    assert picked.args == [second.id]

    add(lantern, "Newest", 0)
    with (
        qtbot.assertNotEmitted(sidebar.conversation_selected),
        qtbot.waitSignal(sidebar.refreshed, timeout=TIMEOUT_MS),
    ):
        sidebar.refresh()
    assert sidebar.titles() == ["Newest", "Second", "First"]
    assert sidebar.selected_conversation_id() == second.id

    with qtbot.waitSignal(sidebar.refreshed, timeout=TIMEOUT_MS):
        sidebar.refresh(select=first.id)
    assert sidebar.selected_conversation_id() == first.id


def test_rename_in_place_with_f2(qtbot, lantern: Lantern, open_sidebar: OpenSidebar) -> None:
    record = add(lantern, "Untitled", 0)
    sidebar = open_sidebar()
    view = sidebar.conversation_list
    item = sidebar.conversation_item(record.id)
    assert item is not None
    view.setCurrentItem(item)

    qtbot.keyClick(view, Qt.Key.Key_F2)
    editor = view.viewport().findChild(QLineEdit)
    assert editor is not None and editor.text() == "Untitled"
    editor.setText("  Trip   to Lisbon ")
    with qtbot.waitSignal(sidebar.refreshed, timeout=TIMEOUT_MS):
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert sidebar.titles() == ["Trip to Lisbon"]
    assert stored_titles(lantern) == ["Trip to Lisbon"]
    assert sidebar.selected_conversation_id() == record.id


# A popup menu on the offscreen platform: it cannot raise it or grab the keyboard.
@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_pin_and_unpin_from_the_context_menu(
    qtbot, lantern: Lantern, open_sidebar: OpenSidebar
) -> None:
    add(lantern, "Recent", 0)
    older = add(lantern, "Older", 5)
    sidebar = open_sidebar()
    view = sidebar.conversation_list

    def choose(title: str, action_text: str) -> None:
        item = next(view.item(row) for row in range(view.count()) if view.item(row).text() == title)
        chosen: list[str] = []

        def pick() -> None:
            menu = QApplication.activePopupWidget()
            assert isinstance(menu, QMenu)
            texts = [action.text() for action in menu.actions() if action.text()]
            chosen.extend(texts)
            action = next(action for action in menu.actions() if action.text() == action_text)
            menu.close()
            action.trigger()

        QTimer.singleShot(0, pick)
        with qtbot.waitSignal(sidebar.refreshed, timeout=TIMEOUT_MS):
            view.customContextMenuRequested.emit(view.visualItemRect(item).center())
        assert action_text in chosen and "Rename" in chosen and "Delete" in chosen

    choose("Older", "Pin")
    assert sidebar.headers() == ["Pinned", "Today"]
    assert sidebar.titles() == ["Older", "Recent"]
    assert lantern.history.conversations.get(older.id).pinned

    choose("Older", "Unpin")
    assert sidebar.headers() == ["Today", "Previous 7 days"]
    assert sidebar.titles() == ["Recent", "Older"]


def test_delete_then_undo_brings_it_back(
    qtbot, lantern: Lantern, open_sidebar: OpenSidebar
) -> None:
    keep = add(lantern, "Keep me", 0)
    gone = add(lantern, "Delete me", 1)
    sidebar = open_sidebar()
    view = sidebar.conversation_list
    item = sidebar.conversation_item(gone.id)
    assert item is not None
    view.setCurrentItem(item)

    with qtbot.waitSignal(sidebar.conversation_deleted, timeout=TIMEOUT_MS) as deleted:
        qtbot.keyClick(view, Qt.Key.Key_Delete)
        # Hidden at once, heading and all, before the store has answered.
        assert sidebar.titles() == ["Keep me"]
        assert sidebar.headers() == ["Today"]
        assert sidebar.undo_bar.isVisible()
        assert sidebar.undo_label.text() == "Conversation deleted."
    assert deleted.args == [gone.id]
    assert stored_titles(lantern) == ["Keep me"]

    with qtbot.waitSignals([sidebar.conversation_restored, sidebar.refreshed], order="strict"):
        qtbot.mouseClick(sidebar.undo_button, Qt.MouseButton.LeftButton)
    assert not sidebar.undo_bar.isVisible()
    assert sidebar.titles() == ["Keep me", "Delete me"]
    assert stored_titles(lantern) == ["Keep me", "Delete me"]
    assert keep.id != gone.id


def test_undo_at_once_waits_for_the_delete(
    qtbot, lantern: Lantern, open_sidebar: OpenSidebar
) -> None:
    record = add(lantern, "Oops", 0)
    sidebar = open_sidebar()
    with qtbot.waitSignals(
        [sidebar.conversation_deleted, sidebar.conversation_restored, sidebar.refreshed],
        order="strict",
        timeout=TIMEOUT_MS,
    ):
        sidebar.delete_conversation(record.id)
        sidebar.undo_delete()  # before the background delete has returned
    assert sidebar.titles() == ["Oops"]
    assert stored_titles(lantern) == ["Oops"]


def test_delete_without_undo_stays_gone(qtbot, lantern: Lantern, open_sidebar: OpenSidebar) -> None:
    add(lantern, "Stays", 0)
    gone = add(lantern, "Goes", 0)
    sidebar = open_sidebar(undo_timeout_ms=50)
    with qtbot.waitSignal(sidebar.conversation_deleted, timeout=TIMEOUT_MS):
        sidebar.delete_conversation(gone.id)
    qtbot.waitUntil(lambda: not sidebar.undo_bar.isVisible(), timeout=TIMEOUT_MS)
    sidebar.undo_delete()  # too late: nothing to undo
    with qtbot.waitSignal(sidebar.refreshed, timeout=TIMEOUT_MS):
        sidebar.refresh()
    assert sidebar.titles() == ["Stays"]
    assert stored_titles(lantern) == ["Stays"]


def test_search_shows_snippets_in_bold_and_opens_the_message(
    qtbot, lantern: Lantern, open_sidebar: OpenSidebar
) -> None:
    add(lantern, "Cooking", 0, texts=("How long do I boil an egg?", "About nine minutes."))
    zoo = add(
        lantern,
        "Zoo <trip> & more",
        2,
        texts=("Which animals are at the zoo?", "Lions, a <red> panda & penguins."),
    )
    answer = MessageRepository(lantern.database).all(zoo.id)[1]
    sidebar = open_sidebar()
    searches: list[str] = []
    search = lantern.history.search
    lantern.history.search = lambda text, limit=50: searches.append(text) or search(text, limit)

    with qtbot.waitSignal(sidebar.results_shown, timeout=TIMEOUT_MS) as shown:
        qtbot.keyClicks(sidebar.search_field, "pand")
    assert shown.args == [1]
    assert searches == ["pand"]  # one search once typing paused, not one per key
    assert sidebar.pages.currentWidget() is sidebar.results_list
    assert sidebar.results_list.accessibleName() == "Search results"
    item = sidebar.results_list.item(0)
    markup = item.data(HTML_ROLE)
    assert "<b>Zoo &lt;trip&gt; &amp; more</b>" in markup
    assert "&lt;red&gt; <b>panda</b> &amp; penguins" in markup
    assert "<red>" not in markup

    view = sidebar.results_list
    with qtbot.waitSignal(sidebar.message_selected, timeout=TIMEOUT_MS) as opened:
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualItemRect(item).center()
        )
    assert opened.args == [zoo.id, answer.id]

    with qtbot.waitSignal(sidebar.results_shown, timeout=TIMEOUT_MS) as shown:
        sidebar.search_field.setText("giraffe")
    assert shown.args == [0]
    assert sidebar.pages.currentWidget() is sidebar.message_label
    assert "No messages match" in sidebar.message_label.text()

    sidebar.search_field.clear()
    assert sidebar.pages.currentWidget() is sidebar.conversation_list
    assert sidebar.titles() == ["Cooking", "Zoo <trip> & more"]
