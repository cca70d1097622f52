"""A centred message for a page that has nothing to show yet, with an optional action."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

MAX_TEXT_WIDTH = 520


class EmptyState(QWidget):
    action_clicked = Signal()

    def __init__(
        self, title: str, body: str, action: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.title = QLabel(f"<h2>{title}</h2>")
        self.body = QLabel(body)
        self.body.setWordWrap(True)
        # The text can be copied (a file name, a command, a message to search for).
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # The labels fill a column of bounded width, so wrapped text gets the height it needs.
        column = QWidget()
        column.setMaximumWidth(MAX_TEXT_WIDTH)
        text = QVBoxLayout(column)
        for label in (self.title, self.body):
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            text.addWidget(label)
        if action:
            self.button = QPushButton(action)
            self.button.clicked.connect(self.action_clicked)
            text.addSpacing(8)
            text.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column, 3)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)

    def text(self) -> str:
        """What the page says, as plain text (for tests and accessibility)."""
        html = f"{self.title.text()}<p>{self.body.text()}</p>"
        return QTextDocumentFragment.fromHtml(html).toPlainText()
