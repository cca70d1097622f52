"""A line under a view that says what is going on, or what went wrong; hidden when empty."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from desktop.ui.error_text import error_text

ERROR_COLOR = "#c62828"  # readable on light and dark backgrounds
_URL = re.compile(r"https?://[^\s)]+[^\s).,;:]")


class Notice(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = ""
        self.is_error = False
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setOpenExternalLinks(True)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.hide()

    def show_info(self, message: str) -> None:
        self._show(message, error=False)

    def show_error(self, error: str | BaseException) -> None:
        """A sentence, or an exception as `error_text` words it."""
        self._show(error if isinstance(error, str) else error_text(error), error=True)

    def clear_message(self) -> None:
        self.message, self.is_error = "", False
        self.clear()
        self.hide()

    def _show(self, message: str, *, error: bool) -> None:
        self.message, self.is_error = message, error
        # Addresses in a message (where to get a Hub token...) can be clicked.
        body = _URL.sub(lambda m: f'<a href="{m[0]}">{m[0]}</a>', html.escape(message))
        body = body.replace("\n", "<br>")  # a message of several lines keeps them
        self.setText(f'<span style="color:{ERROR_COLOR}">{body}</span>' if error else body)
        self.show()
