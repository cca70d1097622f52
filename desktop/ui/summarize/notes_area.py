"""The notes written on each part of a long text, as they are written: a section that folds
open and shut under the summary. Pieces are gathered and appended ~60 times a second."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from desktop.ui.summarize.result_view import FLUSH_INTERVAL_MS


class NotesArea(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QToolButton()
        self.toggle.setAccessibleName("Notes on each part")
        self.toggle.setText("Notes on each part")
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.text = QPlainTextEdit()
        self.text.setAccessibleName("Notes on each part")
        self.text.setReadOnly(True)
        self.text.setMaximumHeight(220)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.text)
        self.toggle.toggled.connect(self._fold)
        self._fold(False)

        self._parts: list[str] = []  # each part's notes, as written so far
        self._pending: list[str] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)

    def _fold(self, open_: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.text.setVisible(open_)

    def parts(self) -> list[str]:
        self.flush()
        return list(self._parts)

    def set_parts(self, parts: list[str]) -> None:
        """Notes already written (a saved summary); hidden when there are none."""
        self._timer.stop()
        self._pending.clear()
        self._parts = list(parts)
        self.text.setPlainText("".join(_heading(i) + text for i, text in enumerate(self._parts)))
        self.setVisible(bool(self._parts))

    def add_piece(self, part: int, piece: str) -> None:
        """Parts are written one after another: a piece is for the last part or a new one."""
        if part >= len(self._parts):
            self.flush()
            self._parts.append("")
            self._pending.append(_heading(part))
            self.show()
        self._parts[part] += piece
        self._pending.append(piece)
        if not self._timer.isActive():
            self._timer.start()

    def part_done(self, part: int, text: str) -> None:
        if part < len(self._parts) and self._parts[part].strip() == text:
            return  # as streamed
        while len(self._parts) <= part:
            self._parts.append("")
        self._parts[part] = text
        self.set_parts(self._parts)

    def flush(self) -> None:
        self._timer.stop()
        if self._pending:
            cursor = self.text.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText("".join(self._pending))
            self._pending.clear()


def _heading(index: int) -> str:
    return f"{'' if index == 0 else chr(10) * 2}Part {index + 1}\n"
