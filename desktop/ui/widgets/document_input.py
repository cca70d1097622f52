"""Where a writing tool's text comes from: typed or pasted into the box, a file dropped on it,
or one opened with the button (.txt .md .pdf .docx .html, read off the GUI thread). A file
that cannot be read leaves the text that was there and says why, under the box."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services.files import read_document_file
from desktop.tasks.documents import SourceText
from desktop.ui.widgets.notice import Notice

if TYPE_CHECKING:
    from desktop.ui.bridge import BackgroundTasks

DOCUMENT_FILTER = "Documents (*.txt *.md *.markdown *.pdf *.docx *.html *.htm);;All files (*)"


class DocumentBox(QPlainTextEdit):
    """The text box; a file dropped on it is read instead of its path pasted as text."""

    file_dropped = Signal(Path)

    def _local_file(self, mime: QMimeData) -> Path | None:
        urls = [url for url in mime.urls() if url.isLocalFile()]
        return Path(urls[0].toLocalFile()) if urls else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._local_file(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._local_file(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._local_file(event.mimeData())
        if path is None:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self.file_dropped.emit(path)


class DocumentInput(QWidget):
    changed = Signal()  # the text changed: typed, pasted, or a file read

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._name: str | None = None  # the file the text came from, while it is unchanged
        self._loading = False

        self.text_box = DocumentBox()
        self.text_box.setAccessibleName("Text")
        self.text_box.setPlaceholderText(
            "Paste or type text here, or drop a file (.txt, .md, .pdf, .docx, .html)."
        )
        self.text_box.textChanged.connect(self._text_changed)
        self.text_box.file_dropped.connect(self.open_file)
        self.open_button = QPushButton("Open file…")
        self.open_button.setAccessibleName("Open file")
        self.open_button.clicked.connect(lambda _checked=False: self._choose_file())
        self.file_label = QLabel()
        self.file_label.setAccessibleName("Source file")
        self.counts = QLabel()
        self.counts.setAccessibleName("Counts")
        self.notice = Notice()

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.open_button)
        row.addWidget(self.file_label, 1)
        row.addWidget(self.counts)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.text_box, 1)
        column.addLayout(row)
        column.addWidget(self.notice)

    # ---- what the owner reads and sets ----

    def source(self) -> SourceText:
        return SourceText(self.text_box.toPlainText(), self._name)

    def set_source(self, source: SourceText) -> None:
        self._loading = True
        try:
            self.text_box.setPlainText(source.text)
        finally:
            self._loading = False
        self._set_name(source.name)
        self.notice.clear_message()
        self.changed.emit()

    def words(self) -> int:
        return len(self.text_box.toPlainText().split())

    def set_counts(self, text: str, tooltip: str = "") -> None:
        self.counts.setText(text)
        self.counts.setToolTip(tooltip)

    def open_file(self, path: Path) -> None:
        """Read `path` off the GUI thread; its text replaces the box's once it is read."""
        self.notice.show_info(f"Reading {path.name}…")
        name = path.name

        def read() -> SourceText:
            return SourceText(read_document_file(path).text, name)

        self._tasks.run(read, self.set_source, self.notice.show_error)

    # ---- inside ----

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a document", "", DOCUMENT_FILTER)
        if path:
            self.open_file(Path(path))

    def _text_changed(self) -> None:
        if self._loading:
            return
        if self._name is not None and not self.text_box.toPlainText().strip():
            self._set_name(None)  # emptied: the next text is the user's own
        self.changed.emit()

    def _set_name(self, name: str | None) -> None:
        self._name = name
        self.file_label.setText(name or "")
