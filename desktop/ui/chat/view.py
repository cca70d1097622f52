"""The conversation as text. A streamed answer is appended at the end of the document (never
re-rendered), and bursts of pieces are coalesced into at most one update per frame."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont, QPalette, QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextBrowser, QWidget

if TYPE_CHECKING:
    from desktop.store.repositories import MessageRecord

FLUSH_INTERVAL_MS = 16  # ~60 updates per second, whatever rate the tokens arrive at

SPEAKERS = {"user": "You", "assistant": "Lantern", "system": "System"}
MARKERS = {
    "stopped": "(stopped)",
    "interrupted": "(interrupted)",
    "failed": "(failed)",
    "streaming": "(still being written)",
}


def status_marker(status: str, error: str | None = None) -> str | None:
    """The note shown after an answer that did not complete; None for a complete one."""
    marker = MARKERS.get(status)
    if marker is None:
        return None
    return f"{marker} {error}" if error else marker


class ChatView(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Chat")
        self.setOpenExternalLinks(True)
        self.document().setDocumentMargin(12)
        self._pending: list[str] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self.flush)

        self._speaker = QTextCharFormat()
        self._speaker.setFontWeight(QFont.Weight.Bold)
        self._body = QTextCharFormat()
        self._note = QTextCharFormat()
        self._note.setFontItalic(True)
        self._note.setForeground(self.palette().color(QPalette.ColorRole.PlaceholderText))

    # ---- whole conversations (once per load, not per token) ----

    def show_messages(self, messages: Iterable[MessageRecord]) -> None:
        self.clear_messages()
        for message in messages:
            self._add_speaker(message.role)
            self._insert(message.content, self._body)
            marker = status_marker(message.status, message.error)
            if message.role == "assistant" and marker:
                self._add_note(marker)
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def clear_messages(self) -> None:
        self._flush_timer.stop()
        self._pending.clear()
        self.clear()

    # ---- one turn ----

    def add_user_message(self, text: str) -> None:
        self._add_speaker("user")
        self._insert(text, self._body)

    def begin_answer(self) -> None:
        self._add_speaker("assistant")

    def append_answer(self, piece: str) -> None:
        """Queue a piece of the answer; the timer writes what has gathered in one insert."""
        self._pending.append(piece)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        self._flush_timer.stop()
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._insert(text, self._body)

    def end_answer(self, status: str, error: str | None = None) -> None:
        self.flush()
        marker = status_marker(status, error)
        if marker:
            self._add_note(marker)

    # ---- the document ----

    def _add_speaker(self, role: str) -> None:
        cursor = self._end_cursor()
        if not self.document().isEmpty():
            block = QTextBlockFormat()
            block.setTopMargin(14)
            cursor.insertBlock(block, self._speaker)
        self._insert(SPEAKERS.get(role, role.capitalize()), self._speaker)
        self._end_cursor().insertBlock(QTextBlockFormat(), self._body)

    def _add_note(self, text: str) -> None:
        self._end_cursor().insertBlock(QTextBlockFormat(), self._note)
        self._insert(text, self._note)

    def _insert(self, text: str, fmt: QTextCharFormat) -> None:
        # Follow the answer only if the reader is already at the bottom; else keep their place.
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        self._end_cursor().insertText(text, fmt)
        if at_bottom:
            bar.setValue(bar.maximum())

    def _end_cursor(self) -> QTextCursor:
        # A cursor of our own, so the reader's selection in the view is left alone.
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor
