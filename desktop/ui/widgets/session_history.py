"""Saved sessions of a page (summaries, translations, Playground runs), newest first: a
search field, New, Delete, and the list (title, then a line of details). It shows what its
page's SavedSessions (session_page.py) reads for it and says what the user picked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, QLocale, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.widgets.throttle import Throttle

SEARCH_DELAY_MS = 250  # typing a word is one search, not one per letter
STATUS_WORDS = {
    "running": "being written",
    "complete": "complete",
    "cancelled": "cancelled",
    "failed": "failed",
    "interrupted": "interrupted",
    "incomplete": "unfinished",
}


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status)


def local_time(moment: datetime) -> str:
    """A stored time (naive UTC) as the user reads times, in their own zone."""
    seconds = int(moment.replace(tzinfo=UTC).timestamp())
    return QLocale().toString(QDateTime.fromSecsSinceEpoch(seconds), QLocale.FormatType.ShortFormat)


@dataclass(frozen=True)
class HistoryRow:
    id: int
    title: str
    details: str  # the second line: date, status, languages...
    tooltip: str = ""


class SessionHistory(QWidget):
    search_changed = Signal(str)  # the query, once typing pauses
    opened = Signal(int)  # a session's id
    new_requested = Signal()
    delete_requested = Signal(int)

    def __init__(self, noun: str, plural: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search_field = QLineEdit()
        self.search_field.setAccessibleName(f"Search {plural}")
        self.search_field.setPlaceholderText(f"Search {plural}")
        self.search_field.setClearButtonEnabled(True)
        self.new_button = QPushButton(f"New {noun}")
        self.new_button.setAccessibleName(f"New {noun}")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setAccessibleName(f"Delete {noun}")
        self.delete_button.setEnabled(False)
        self.list = QListWidget()
        self.list.setAccessibleName(f"Saved {plural}")
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.search_field)
        layout.addWidget(self.list, 1)

        self._search = Throttle(
            lambda: self.search_changed.emit(self.query()), SEARCH_DELAY_MS, parent=self
        )
        self.search_field.textChanged.connect(lambda _text: self._search.restart())
        self.new_button.clicked.connect(lambda _checked=False: self.new_requested.emit())
        self.delete_button.clicked.connect(lambda _checked=False: self._delete_selected())
        self.list.itemActivated.connect(self._open)
        self.list.itemClicked.connect(self._open)
        self.list.currentItemChanged.connect(
            lambda item, _previous: self.delete_button.setEnabled(item is not None)
        )

    def query(self) -> str:
        return self.search_field.text().strip()

    def show_rows(self, rows: Sequence[HistoryRow], select: int | None = None) -> None:
        """The list as read; `select` (or the session selected before) stays selected."""
        keep = select if select is not None else self.selected_id()
        self.list.blockSignals(True)
        self.list.clear()
        for row in rows:
            item = QListWidgetItem(f"{row.title}\n{row.details}")
            item.setData(Qt.ItemDataRole.UserRole, row.id)
            item.setToolTip(row.tooltip or row.title)
            self.list.addItem(item)
            if row.id == keep:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self.delete_button.setEnabled(self.list.currentItem() is not None)

    def ids(self) -> list[int]:
        role = Qt.ItemDataRole.UserRole
        return [self.list.item(row).data(role) for row in range(self.list.count())]

    def selected_id(self) -> int | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def title_of(self, session_id: int) -> str | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == session_id:
                return item.text().split("\n")[0]
        return None

    def select(self, session_id: int) -> None:
        """Select `session_id` if it is listed (without opening it again)."""
        self.list.blockSignals(True)
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == session_id:
                self.list.setCurrentRow(row)
        self.list.blockSignals(False)
        self.delete_button.setEnabled(self.list.currentItem() is not None)

    def clear_selection(self) -> None:
        self.list.setCurrentRow(-1)
        self.list.clearSelection()
        self.delete_button.setEnabled(False)

    def _open(self, item: QListWidgetItem) -> None:
        self.opened.emit(item.data(Qt.ItemDataRole.UserRole))

    def _delete_selected(self) -> None:
        session_id = self.selected_id()
        if session_id is not None:
            self.delete_requested.emit(session_id)
