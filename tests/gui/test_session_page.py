"""SavedSessions, the history of the pages with saved sessions, over a service of its own
(no model, no store): reads that end out of order, the last session asked for winning over
one still on its way, New, and Delete with and without a question."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from PySide6.QtCore import QCoreApplication, QThreadPool
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.ui.bridge import BackgroundTasks
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.session_history import HistoryRow
from desktop.ui.widgets.session_page import SavedSessions, SessionWords

pytestmark = pytest.mark.gui


@dataclass
class Notes:
    """A tool's saved sessions: titles by id. A read waits while its id is held."""

    titles: dict[int, str]
    held: dict[object, threading.Event] = field(default_factory=dict)

    def _wait(self, key: object) -> None:
        if key in self.held:
            assert self.held[key].wait(10)

    def sessions(self, query: str = "", /) -> list[int]:
        self._wait(query)
        return [i for i, title in sorted(self.titles.items(), reverse=True) if query in title]

    def session(self, session_id: int, /) -> str:
        self._wait(session_id)
        return self.titles[session_id]

    def delete(self, session_id: int, /) -> None:
        del self.titles[session_id]


class NotesPage(QWidget):
    """The page's side: shows the title of the session opened."""

    def __init__(self, notes: Notes, tasks: BackgroundTasks, question: str | None) -> None:
        super().__init__()
        self.shown = ""
        self.deleted: list[tuple[int, bool]] = []
        self.notice = Notice()
        words = SessionWords("note", "notes", question)
        self.sessions: SavedSessions[int, str] = SavedSessions(
            self, tasks, self.notice, lambda: notes, words
        )

    def is_running(self) -> bool:
        return False

    def history_row(self, record: int) -> HistoryRow:
        return HistoryRow(record, f"Note {record}", "")

    def show_session(self, session: str) -> None:
        self.shown = session

    def clear_session(self) -> None:
        self.shown = ""

    def session_deleted(self, session_id: int, *, shown: bool) -> None:
        self.deleted.append((session_id, shown))


@pytest.fixture
def pool() -> Iterator[QThreadPool]:
    pool = QThreadPool()
    yield pool
    pool.waitForDone()


@pytest.fixture
def tasks(pool: QThreadPool) -> Iterator[BackgroundTasks]:
    tasks = BackgroundTasks(pool)
    yield tasks
    tasks.close()


def delivered(qtbot, pool: QThreadPool) -> None:
    """Every read has ended, and what it sent has arrived."""
    qtbot.wait_until(lambda: pool.activeThreadCount() == 0)
    QCoreApplication.processEvents()


def test_a_read_of_the_list_that_ends_late_is_not_shown(
    qtbot, pool: QThreadPool, tasks: BackgroundTasks
) -> None:
    notes = Notes({1: "apples", 2: "pears"}, {"": threading.Event()})
    page = NotesPage(notes, tasks, None)
    qtbot.addWidget(page)
    page.sessions.refresh()  # all notes: held
    with qtbot.waitSignal(page.sessions.history_shown):
        page.sessions.history.search_field.setText("pears")
    assert page.sessions.history.ids() == [2]
    notes.held[""].set()
    delivered(qtbot, pool)
    assert page.sessions.history.ids() == [2]


def test_the_last_session_asked_for_is_shown_and_new_clears_it(
    qtbot, pool: QThreadPool, tasks: BackgroundTasks
) -> None:
    notes = Notes({1: "apples", 2: "pears"}, {1: threading.Event()})
    page = NotesPage(notes, tasks, None)
    qtbot.addWidget(page)
    page.sessions.open(1)  # held
    page.sessions.open(2)
    qtbot.wait_until(lambda: page.shown == "pears")
    notes.held[1].set()
    delivered(qtbot, pool)
    assert (page.shown, page.sessions.current) == ("pears", 2)
    page.sessions.new()
    assert (page.shown, page.sessions.current) == ("", None)


def test_delete_asks_first_and_tells_the_page_whether_it_showed_it(
    qtbot, tasks: BackgroundTasks, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = Notes({1: "apples", 2: "pears"})
    page = NotesPage(notes, tasks, "Delete “{title}”?")
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.sessions.history_shown):
        page.sessions.refresh()
    page.sessions.open(2)
    qtbot.wait_until(lambda: page.shown == "pears")
    asked: list[str] = []

    def answer(_parent: QWidget, title: str, text: str, *_buttons: object) -> object:
        asked.append(f"{title}: {text}")
        return (
            QMessageBox.StandardButton.Cancel if len(asked) == 1 else QMessageBox.StandardButton.Yes
        )

    monkeypatch.setattr(QMessageBox, "question", answer)
    page.sessions.delete(2)
    assert asked == ["Delete note: Delete “Note 2”?"] and notes.titles.keys() == {1, 2}
    with qtbot.waitSignal(page.sessions.history_shown):
        page.sessions.delete(2)
    assert page.deleted == [(2, True)] and page.sessions.current is None
    assert page.sessions.history.ids() == [1]
