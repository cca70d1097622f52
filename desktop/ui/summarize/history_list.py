"""Saved summaries, newest first: a search field, New summary, Delete, and the list itself
(title, date, status). It only shows what the page reads for it in the background."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QDateTime, QLocale, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from desktop.store.summaries import SummaryRecord

SEARCH_DELAY_MS = 250  # typing a word is one search, not one per letter
STATUS_WORDS = {
    "running": "being written",
    "complete": "complete",
    "cancelled": "cancelled",
    "failed": "failed",
    "interrupted": "interrupted",
}


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status)


def local_time(moment: datetime) -> str:
    """A stored time (naive UTC) as the user reads times, in their own zone."""
    local = moment.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)
    return QLocale().toString(QDateTime(local), QLocale.FormatType.ShortFormat)


class SummaryHistory(QWidget):
    search_changed = Signal(str)  # the query, once typing pauses
    opened = Signal(int)  # a summary's id
    new_requested = Signal()
    delete_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search_field = QLineEdit()
        self.search_field.setAccessibleName("Search summaries")
        self.search_field.setPlaceholderText("Search summaries")
        self.search_field.setClearButtonEnabled(True)
        self.new_button = QPushButton("New summary")
        self.new_button.setAccessibleName("New summary")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setAccessibleName("Delete summary")
        self.delete_button.setEnabled(False)
        self.list = QListWidget()
        self.list.setAccessibleName("Saved summaries")
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

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(lambda: self.search_changed.emit(self.query()))
        self.search_field.textChanged.connect(lambda _text: self._search_timer.start())
        self.new_button.clicked.connect(lambda _checked=False: self.new_requested.emit())
        self.delete_button.clicked.connect(lambda _checked=False: self._delete_selected())
        self.list.itemActivated.connect(self._open)
        self.list.itemClicked.connect(self._open)
        self.list.currentItemChanged.connect(
            lambda item, _previous: self.delete_button.setEnabled(item is not None)
        )

    def query(self) -> str:
        return self.search_field.text().strip()

    def show_records(self, records: list[SummaryRecord], select: int | None = None) -> None:
        """The list as read; `select` (or the summary selected before) stays selected."""
        keep = select if select is not None else self.selected_id()
        self.list.blockSignals(True)
        self.list.clear()
        for record in records:
            when = local_time(record.updated_at)
            item = QListWidgetItem(f"{record.title}\n{when} · {status_words(record.status)}")
            item.setData(Qt.ItemDataRole.UserRole, record.id)
            item.setToolTip(record.title)
            self.list.addItem(item)
            if record.id == keep:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self.delete_button.setEnabled(self.list.currentItem() is not None)

    def ids(self) -> list[int]:
        role = Qt.ItemDataRole.UserRole
        return [self.list.item(row).data(role) for row in range(self.list.count())]

    def selected_id(self) -> int | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, summary_id: int) -> None:
        """Select `summary_id` if it is listed (without opening it again)."""
        self.list.blockSignals(True)
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == summary_id:
                self.list.setCurrentRow(row)
        self.list.blockSignals(False)
        self.delete_button.setEnabled(self.list.currentItem() is not None)

    def clear_selection(self) -> None:
        self.list.setCurrentItem(None)
        self.list.clearSelection()
        self.delete_button.setEnabled(False)

    def _open(self, item: QListWidgetItem) -> None:
        self.opened.emit(item.data(Qt.ItemDataRole.UserRole))

    def _delete_selected(self) -> None:
        summary_id = self.selected_id()
        if summary_id is not None:
            self.delete_requested.emit(summary_id)
