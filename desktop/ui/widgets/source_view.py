"""The source viewer: where an answer's source [n] came from, the document of a library shown
at that passage, highlighted.

The document is read in the background (`read_text`, DocumentService.source_text: the file's
text as the reader gives it now). A passage's offsets index into that text while the file is
unchanged; a file changed since the answer has its passage looked for where it now is, and a
file changed past finding it, or gone, shows the passage as it was stored with the answer and
says so. One viewer serves a page: opening another source replaces what it shows, and only
the latest read may fill it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QFont, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.error_text import error_text

if TYPE_CHECKING:
    from desktop.store.repositories import MessageSource
    from desktop.ui.bridge import BackgroundTasks

MOVED_NOTE = "The file changed since this answer: the passage is shown where it is now."
CHANGED_NOTE = (
    "The file changed since this answer and the passage is no longer in it: "
    "this is the passage as the answer used it."
)
PARAGRAPH_SEPARATOR = "\u2029"  # what Qt puts for a line break in a selection's text


def source_place(source: MessageSource) -> str:
    """Where the passage is in its file, for the reader: "page 3 · Install > On Linux"."""
    parts = [f"page {source.page}" if source.page is not None else "", source.heading]
    return " · ".join(part for part in parts if part)


def utf16_offset(text: str, index: int) -> int:
    """Qt counts a text's positions in UTF-16 units: a character past U+FFFF takes two."""
    return index + sum(1 for char in text[:index] if ord(char) > 0xFFFF)


class SourceView(QDialog):
    def __init__(
        self,
        tasks: BackgroundTasks,
        read_text: Callable[[str], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Source")
        self.resize(720, 560)
        self._tasks = tasks
        self._read_text = read_text
        self._source: MessageSource | None = None
        self._serial = 0  # only the latest read may fill the viewer

        self.title = QLabel()
        bold = QFont()
        bold.setBold(True)
        self.title.setFont(bold)
        self.place = QLabel()
        self.place.setWordWrap(True)
        self.place.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setAccessibleName("About this source")
        self.note.hide()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Document text")
        self.text.setCenterOnScroll(True)  # the passage can be put in the middle, even at the end
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.place)
        layout.addWidget(self.note)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)

    def open_source(self, source: MessageSource) -> None:
        """Shows the viewer on `source`'s document: read in the background, then scrolled to
        the passage, highlighted."""
        self._serial += 1
        serial = self._serial
        self._source = source
        name = Path(source.path).name
        self.setWindowTitle(f"[{source.number}] {name}")
        self.title.setText(name)
        self.title.setToolTip(source.path)
        place = source_place(source)
        self.place.setText(f"{source.path}\n{place}" if place else source.path)
        self.note.hide()
        self.text.setExtraSelections([])
        self.text.setPlainText(f"Reading {name}…")
        self.show()
        self.activateWindow()  # in front, if it was open behind the window
        path = source.path
        self._tasks.run(
            lambda: self._read_text(path),
            lambda text: self._show_text(serial, text),
            lambda error: self._show_unreadable(serial, error),
        )

    def highlighted_text(self) -> str:
        """The passage highlighted in the text shown ("" when none is)."""
        selections = self.text.extraSelections()
        if not selections:
            return ""
        return selections[0].cursor.selectedText().replace(PARAGRAPH_SEPARATOR, "\n")

    def passage_is_visible(self) -> bool:
        """Whether the highlighted passage's start is in view."""
        selections = self.text.extraSelections()
        if not selections:
            return False
        start = QTextCursor(selections[0].cursor)
        start.setPosition(selections[0].cursor.selectionStart())
        return self.text.viewport().rect().contains(self.text.cursorRect(start).center())

    def _show_text(self, serial: int, text: str) -> None:
        source = self._source
        if serial != self._serial or source is None:
            return  # another source was opened since
        if text[source.start : source.end] == source.text:
            start = source.start
        else:
            start = text.find(source.text)
            if start < 0:
                self._show_stored(CHANGED_NOTE)
                return
            self._say(MOVED_NOTE)
        self.text.setPlainText(text)
        self._highlight(text, start, start + len(source.text))

    def _show_unreadable(self, serial: int, error: BaseException) -> None:
        if serial == self._serial:
            self._show_stored(f"{error_text(error)} This is the passage as the answer used it.")

    def _show_stored(self, note: str) -> None:
        """The file cannot show the passage: the passage as the answer stored it."""
        assert self._source is not None
        self._say(note)
        self.text.setPlainText(self._source.text)
        self._highlight(self._source.text, 0, len(self._source.text))

    def _say(self, note: str) -> None:
        self.note.setText(note)
        self.note.show()

    def _highlight(self, text: str, start: int, end: int) -> None:
        cursor = QTextCursor(self.text.document())
        cursor.setPosition(utf16_offset(text, start))
        cursor.setPosition(utf16_offset(text, end), QTextCursor.MoveMode.KeepAnchor)
        selection = QTextEdit.ExtraSelection()
        selection.cursor = cursor
        highlight = QTextCharFormat()
        palette = self.text.palette()
        highlight.setBackground(palette.color(QPalette.ColorRole.Highlight))
        highlight.setForeground(palette.color(QPalette.ColorRole.HighlightedText))
        selection.format = highlight
        self.text.setExtraSelections([selection])
        # The caret at the passage's start, the passage in the middle of the view.
        at_start = QTextCursor(self.text.document())
        at_start.setPosition(cursor.selectionStart())
        self.text.setTextCursor(at_start)
        self.text.centerCursor()
