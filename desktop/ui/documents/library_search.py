"""The search box of the Documents page and the passages it finds in the library shown: by
meaning and by words at once (DocumentService.search), on the window's pool; the newest
search's answer wins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from desktop.errors import EmbedderMissing
from desktop.store.documents import FoundPassage
from desktop.ui.documents.search_results import SearchResults
from desktop.ui.page import LanternWidget
from desktop.ui.widgets.notice import Notice

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks

SEARCH_LIMIT = 10


class LibrarySearch(LanternWidget):
    embedder_missing = Signal(object)  # the EmbedderMissing a search ran into

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self._library: str | None = None
        self._serial = 0
        self.box = QLineEdit()
        self.box.setAccessibleName("Search the library")
        self.box.setPlaceholderText("Search this library: a question, or words…")
        self.box.setClearButtonEnabled(True)
        self.button = QPushButton("Search")
        self.button.setAccessibleName("Search")
        self.notice = Notice()
        self.results = SearchResults()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.box, 1)
        row.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.notice)
        layout.addWidget(self.results, 1)
        self.box.returnPressed.connect(self.search)
        self.button.clicked.connect(lambda _checked=False: self.search())
        self.set_library(None)

    def set_library(self, name: str | None) -> None:
        """Search `name` from now on (None: no library, nothing to search)."""
        self._library = name
        self._serial += 1  # an answer on its way was for the other library
        self.results.clear_passages()
        self.notice.clear_message()
        self.box.setEnabled(name is not None)
        self.button.setEnabled(name is not None)

    def search(self) -> None:
        query = self.box.text().strip()
        library = self._library
        if not query or library is None:
            return
        self._serial += 1
        serial = self._serial
        self.notice.show_info("Searching…")
        lantern = self._lantern  # its parts are built on first use: in the task
        self._tasks.run(
            lambda: lantern.documents.search(query, libraries=[library], limit=SEARCH_LIMIT),
            lambda found: self._found(serial, query, found),
            lambda error: self._failed(serial, error),
        )

    def _found(self, serial: int, query: str, found: list[FoundPassage]) -> None:
        if serial == self._serial:  # else a newer search is on its way
            self.notice.clear_message()
            self.results.show_passages(query, found)

    def _failed(self, serial: int, error: BaseException) -> None:
        if serial != self._serial:
            return
        self.notice.clear_message()
        if isinstance(error, EmbedderMissing):
            self.embedder_missing.emit(error)
        else:
            self.notice.show_error(error)
