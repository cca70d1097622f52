"""The libraries, on the left of the Documents page: each with how many files it has and how
many are still queued or failed; New library… and Remove…. It only shows and asks: the page
makes and removes them."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services.documents import LibraryOverview


def library_line(library: LibraryOverview) -> str:
    """'Notes', then '40 files · 3 queued · 1 failed' on a line of its own."""
    counts = library.counts
    parts = [f"{counts.files:,} file{'' if counts.files == 1 else 's'}"]
    parts += [
        f"{n:,} {word}" for n, word in ((counts.queued, "queued"), (counts.failed, "failed")) if n
    ]
    return f"{library.name}\n{' · '.join(parts)}"


class LibraryList(QWidget):
    chosen = Signal(object)  # the library's name, or None when none is left

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setAccessibleName("Libraries")
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(self._current_changed)
        self.new_button = QPushButton("New library…")
        self.new_button.setAccessibleName("New library")
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setAccessibleName("Remove library")
        self.remove_button.setToolTip("Remove the library and its index (your files stay)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Libraries</b>"))
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.remove_button.setEnabled(False)

    def names(self) -> list[str]:
        return [
            self.list.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.list.count())
        ]

    def selected(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def show_libraries(self, libraries: Sequence[LibraryOverview], select: str | None) -> None:
        """The libraries as read; `select` (or the one selected before, or the first) stays
        selected. `chosen` is emitted when that changes which library is selected."""
        before = self.selected()
        wanted = select or before
        self.list.blockSignals(True)
        self.list.clear()
        for library in libraries:
            item = QListWidgetItem(library_line(library))
            item.setData(Qt.ItemDataRole.UserRole, library.name)
            item.setToolTip("\n".join(source.path for source in library.sources))
            self.list.addItem(item)
        names = [library.name for library in libraries]
        if names:
            self.list.setCurrentRow(names.index(wanted) if wanted in names else 0)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(bool(names))
        if self.selected() != before:
            self.chosen.emit(self.selected())

    def _current_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        self.remove_button.setEnabled(current is not None)
        self.chosen.emit(None if current is None else current.data(Qt.ItemDataRole.UserRole))
