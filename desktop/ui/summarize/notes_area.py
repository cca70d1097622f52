"""The notes written on each part of a long text, as they are written: a section that folds
open and shut under the summary. Pieces are gathered and appended at most once a frame."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from desktop.ui.widgets.throttle import Throttle


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
        self._throttle = Throttle(self.flush, parent=self)

    def _fold(self, open_: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.text.setVisible(open_)

    def parts(self) -> list[str]:
        self.flush()
        return list(self._parts)

    def set_parts(self, parts: list[str]) -> None:
        """Notes already written (a saved summary); hidden when there are none."""
        self._throttle.cancel()
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
        self._throttle.request()

    def part_done(self, part: int, text: str) -> None:
        if part < len(self._parts) and self._parts[part].strip() == text:
            return  # as streamed
        while len(self._parts) <= part:
            self._parts.append("")
        self._parts[part] = text
        self.set_parts(self._parts)

    def flush(self) -> None:
        self._throttle.cancel()
        if self._pending:
            cursor = self.text.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText("".join(self._pending))
            self._pending.clear()


def _heading(index: int) -> str:
    return f"{'' if index == 0 else chr(10) * 2}Part {index + 1}\n"
