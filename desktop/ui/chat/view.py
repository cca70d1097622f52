"""The conversation: a scrolling column of MessageWidgets. A streamed answer is appended to its
widget (never re-rendered), and bursts of pieces are coalesced into at most one update per
frame. A long conversation builds only its last messages' widgets; "Show earlier messages"
adds more, a page at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QPushButton, QScrollArea, QVBoxLayout, QWidget

from desktop.ui.chat.message_widget import MessageWidget

if TYPE_CHECKING:
    from desktop.store.repositories import MessageRecord

FLUSH_INTERVAL_MS = 16  # ~60 updates per second, whatever rate the tokens arrive at
PAGE_SIZE = 60  # widgets built at once: the last ones on opening, then per "Show earlier"
BOTTOM_SLACK = 4  # pixels from the bottom that still count as "at the bottom"


class ChatView(QScrollArea):
    regenerate_requested = Signal(int)
    edit_submitted = Signal(int, str)
    branch_requested = Signal(int, int)
    continue_requested = Signal(int)
    link_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Chat")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._column = QWidget()
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(8, 8, 8, 8)
        self._layout.setSpacing(8)
        self.show_earlier_button = QPushButton("Show earlier messages")
        self.show_earlier_button.setAccessibleName("Show earlier messages")
        self.show_earlier_button.clicked.connect(self.show_earlier)
        self.show_earlier_button.hide()
        self._layout.addWidget(self.show_earlier_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self._layout.addStretch(1)
        self.setWidget(self._column)

        self._messages: list[MessageRecord] = []  # the thread shown, first to last
        self._branches: dict[int, tuple[int, int]] = {}
        self._widgets: list[MessageWidget] = []  # for self._messages[self._first:]
        self._first = 0
        self._answer: MessageWidget | None = None  # the answer being streamed
        self._busy = False
        self._follow = True  # keep to the bottom as the content grows
        self._keep_from_bottom: int | None = None  # after "Show earlier": hold the reader's place

        self._pending: list[str] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self.flush)

        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._scrolled)
        bar.rangeChanged.connect(self._range_changed)

    # ---- what is shown ----

    def widgets(self) -> list[MessageWidget]:
        return list(self._widgets)

    def messages(self) -> list[MessageRecord]:
        return list(self._messages)

    def toPlainText(self) -> str:
        """The built messages as text: author, text and status line of each."""
        parts: list[str] = []
        for widget in self._widgets:
            parts.append(widget.author.text())
            if widget.text():
                parts.append(widget.text())
            if widget.status_label.isVisibleTo(widget):
                parts.append(widget.status_label.text())
        return "\n".join(parts)

    # ---- whole conversations (once per load, not per token) ----

    def show_messages(
        self,
        messages: Iterable[MessageRecord],
        branches: Mapping[int, tuple[int, int]] | None = None,
    ) -> None:
        self.clear_messages()
        self._messages = list(messages)
        self._branches = dict(branches or {})
        self._first = max(0, len(self._messages) - PAGE_SIZE)
        self._column.setUpdatesEnabled(False)  # one layout and paint for the page, not 60
        self._widgets = [self._make(m) for m in self._messages[self._first :]]
        for index, widget in enumerate(self._widgets):
            self._insert(index, widget)
        self._column.setUpdatesEnabled(True)
        self.show_earlier_button.setVisible(self._first > 0)
        self._follow = True
        self._to_bottom()

    def show_earlier(self) -> None:
        """Builds up to PAGE_SIZE more widgets above those shown, keeping the reader's place."""
        if self._first == 0:
            return
        start = max(0, self._first - PAGE_SIZE)
        self._column.setUpdatesEnabled(False)
        new = [self._make(m) for m in self._messages[start : self._first]]
        for index, widget in enumerate(new):
            self._insert(index, widget)
        self._column.setUpdatesEnabled(True)
        self._widgets[:0] = new
        self._first = start
        self.show_earlier_button.setVisible(start > 0)
        bar = self.verticalScrollBar()
        self._follow = False
        self._keep_from_bottom = bar.maximum() - bar.value()

    def clear_messages(self) -> None:
        self._flush_timer.stop()
        self._pending.clear()
        self._answer = None
        self._remove_from(0)
        self._messages = []
        self._branches = {}
        self._first = 0
        self.show_earlier_button.hide()

    def set_busy(self, busy: bool) -> None:
        """While a turn runs, the messages' actions are off: one turn at a time."""
        self._busy = busy
        for widget in self._widgets:
            self._apply_busy(widget)

    # ---- one turn ----

    def add_user_message(
        self, record: MessageRecord, branch: tuple[int, int] | None = None
    ) -> None:
        """Shows the user's message at the end of the branch it was written on: anything after
        the message it follows (an older branch) goes, so an edit replaces the original. A
        message already shown (regenerating or continuing its answer) stays as it is."""
        if branch is not None:
            self._branches[record.id] = branch
        ids = [m.id for m in self._messages]
        if record.id not in ids:  # a regenerated or continued answer's message is shown
            keep = ids.index(record.parent_id) + 1 if record.parent_id in ids else 0
            self._truncate(keep)
            self._append(record)
        self._follow = True
        self._to_bottom()

    def begin_answer(
        self, record: MessageRecord | None = None, branch: tuple[int, int] | None = None
    ) -> None:
        """The answer that streams next: a new widget, or (continuing) the answer's own."""
        self.flush()
        if record is None:  # a stand-in, for the view on its own
            record = _stand_in()
        if branch is not None:
            self._branches[record.id] = branch
        ids = [m.id for m in self._messages]
        if record.id in ids:  # continuing: the answer's own widget streams on
            index = ids.index(record.id)
            self._truncate(index + 1)
            self._messages[index] = record
            self._answer = self._widgets[index - self._first]
            self._answer.set_record(record, self._branches.get(record.id))
            self._apply_busy(self._answer)
            return
        if record.id > 0:  # a new answer: after its question, instead of what followed it
            self._truncate(ids.index(record.parent_id) + 1 if record.parent_id in ids else 0)
        self._answer = self._append(record)

    def append_answer(self, piece: str) -> None:
        """Queue a piece of the answer; the timer writes what has gathered in one append."""
        self._pending.append(piece)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        self._flush_timer.stop()
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            if self._answer is not None:
                self._answer.append_text(text)

    def end_answer(
        self,
        record: MessageRecord | None = None,
        *,
        status: str = "failed",
        error: str | None = None,
    ) -> None:
        """Settles the streamed answer with its final record; without one (the turn failed
        before the service said how it ended), with `status` and `error`."""
        self.flush()
        widget = self._answer
        self._answer = None
        if widget is None:
            return
        if record is None:
            record = dataclasses.replace(
                widget.record(), content=widget.text(), status=status, error=error
            )
        self._replace_record(record)
        widget.finish(record)
        self._apply_busy(widget)

    # ---- widgets ----

    def _make(self, record: MessageRecord) -> MessageWidget:
        widget = MessageWidget(record, self._branches.get(record.id), self._column)
        widget.regenerate_requested.connect(self.regenerate_requested)
        widget.edit_submitted.connect(self.edit_submitted)
        widget.branch_requested.connect(self.branch_requested)
        widget.continue_requested.connect(self.continue_requested)
        widget.link_activated.connect(self.link_activated)
        self._apply_busy(widget)
        return widget

    def _append(self, record: MessageRecord) -> MessageWidget:
        self._messages.append(record)
        widget = self._make(record)
        self._insert(len(self._widgets), widget)
        self._widgets.append(widget)
        return widget

    def _insert(self, index: int, widget: MessageWidget) -> None:
        """Into the column below the 'Show earlier' button, shown at once: the layout alone
        would show it from a queued call, after whatever the caller does next."""
        self._layout.insertWidget(1 + index, widget)
        widget.show()

    def _truncate(self, keep: int) -> None:
        """Keeps the first `keep` messages of the thread."""
        self._messages = self._messages[:keep]
        if keep < self._first:  # not reachable from the actions, which need a widget
            self._first = keep
            self.show_earlier_button.setVisible(keep > 0)
        self._remove_from(keep - self._first)

    def _remove_from(self, index: int) -> None:
        for widget in self._widgets[index:]:
            if widget is self._answer:
                self._answer = None
            self._layout.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        del self._widgets[index:]

    def _replace_record(self, record: MessageRecord) -> None:
        for index, message in enumerate(self._messages):
            if message.id == record.id:
                self._messages[index] = record

    def _apply_busy(self, widget: MessageWidget) -> None:
        idle = not self._busy
        for button in (widget.edit_button, widget.regenerate_button, widget.continue_button):
            button.setEnabled(idle)
        branch = self._branches.get(widget.record().id)
        position, count = branch if branch else (1, 1)
        widget.previous_button.setEnabled(idle and position > 1)
        widget.next_button.setEnabled(idle and position < count)

    # ---- scrolling: follow the bottom only if the reader is there ----

    def _scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - BOTTOM_SLACK

    def _range_changed(self, _minimum: int, maximum: int) -> None:
        bar = self.verticalScrollBar()
        if self._keep_from_bottom is not None:
            bar.setValue(maximum - self._keep_from_bottom)
            self._keep_from_bottom = None
        elif self._follow:
            bar.setValue(maximum)

    def _to_bottom(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())


def _stand_in() -> MessageRecord:
    from datetime import UTC, datetime

    from desktop.store.repositories import MessageRecord

    now = datetime.now(UTC)
    return MessageRecord(0, 0, None, "assistant", "", "streaming", None, None, None, now, now)
