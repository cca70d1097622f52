"""A centred message for a page that has nothing to show yet, with an optional action."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyState(QWidget):
    action_clicked = Signal()

    def __init__(
        self, title: str, body: str, action: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.title = QLabel(f"<h2>{title}</h2>")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.body = QLabel(body)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setWordWrap(True)
        # The commands are meant to be copied into a terminal.
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setMaximumWidth(520)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for label in (self.title, self.body):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
        if action:
            self.button = QPushButton(action)
            self.button.clicked.connect(self.action_clicked)
            layout.addSpacing(8)
            layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def text(self) -> str:
        """What the page says, as plain text (for tests and accessibility)."""
        return f"{self.title.text()}\n{self.body.text()}"
