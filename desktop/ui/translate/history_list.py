"""The saved translation sessions, newest first, with a search field, New and Delete. It only
shows records and says what the user picked; the page reads and deletes them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import LanternError
from desktop.store.translations import TranslationRecord
from desktop.tasks.languages import find_language

TITLE_CHARS = 40
SEARCH_DELAY_MS = 250  # wait for the user to stop typing before searching
STATUS_NAMES = {
    "complete": "Complete",
    "cancelled": "Stopped",
    "failed": "Failed",
    "interrupted": "Interrupted",
    "incomplete": "Unfinished",
    "running": "Running",
}


def one_line(title: str) -> str:
    """A title as one short line: the list is narrow."""
    words = " ".join(title.split())
    return words if len(words) <= TITLE_CHARS else words[: TITLE_CHARS - 1].rstrip() + "…"


def language_name(code: str | None) -> str:
    if not code:
        return "Detected"
    try:
        return find_language(code).name
    except LanternError:
        return code


def session_summary(record: TranslationRecord) -> str:
    """The second line of a history row: languages, date, state."""
    moment = record.updated_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the store writes UTC
    when = moment.astimezone().strftime("%Y-%m-%d %H:%M")
    languages = f"{language_name(record.source_language)} → {language_name(record.target_language)}"
    return f"{languages} · {when} · {STATUS_NAMES.get(record.status, record.status)}"


class TranslationHistory(QWidget):
    search_changed = Signal(str)  # debounced
    open_requested = Signal(int)  # translation id
    new_requested = Signal()
    delete_requested = Signal(int)  # translation id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search_field = QLineEdit()
        self.search_field.setAccessibleName("Search translations")
        self.search_field.setPlaceholderText("Search translations")
        self.search_field.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(
            lambda: self.search_changed.emit(self.search_field.text())
        )
        self.search_field.textChanged.connect(lambda _text: self._search_timer.start())
        self.session_list = QListWidget()
        self.session_list.setAccessibleName("Saved translations")
        self.session_list.setWordWrap(True)
        self.session_list.itemActivated.connect(self._activated)
        self.session_list.itemClicked.connect(self._activated)
        self.new_button = QPushButton("&New")
        self.new_button.setAccessibleName("New translation")
        self.new_button.clicked.connect(lambda _checked=False: self.new_requested.emit())
        self.delete_button = QPushButton("Delete")
        self.delete_button.setAccessibleName("Delete the selected translation")
        self.delete_button.clicked.connect(lambda _checked=False: self._delete_selected())

        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search_field)
        layout.addWidget(self.session_list, 1)
        layout.addLayout(buttons)

    def show_sessions(self, records: Sequence[TranslationRecord], current: int | None) -> None:
        self.session_list.clear()
        for record in records:
            item = QListWidgetItem(f"{one_line(record.title)}\n{session_summary(record)}")
            item.setData(Qt.ItemDataRole.UserRole, record.id)
            item.setToolTip(record.error or "")
            self.session_list.addItem(item)
            if record.id == current:
                self.session_list.setCurrentItem(item)
        if current is None:
            self.session_list.clearSelection()
            self.session_list.setCurrentRow(-1)

    def ids(self) -> list[int]:
        return [
            self.session_list.item(row).data(Qt.ItemDataRole.UserRole)
            for row in range(self.session_list.count())
        ]

    def item_for(self, translation_id: int) -> QListWidgetItem | None:
        for row in range(self.session_list.count()):
            item = self.session_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == translation_id:
                return item
        return None

    def query(self) -> str:
        return self.search_field.text()

    def _activated(self, item: QListWidgetItem) -> None:
        self.open_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    def _delete_selected(self) -> None:
        item = self.session_list.currentItem()
        if item is not None:
            self.delete_requested.emit(item.data(Qt.ItemDataRole.UserRole))
