"""The conversation: a scrolling column of MessageWidgets. A streamed answer is appended to its
widget (never re-rendered), and bursts of pieces are coalesced into at most one update per
frame.

A conversation builds widgets only for what the reader can see and a screen more: opening
one builds its last messages, as many as fill two screens; opening it at a message (a search
result, a branch arrow) builds that message, two screens below it and one above. Scrolling
to within a screen of the first one built builds the messages before it (the reader's place
held), and "Show earlier messages" adds a page of them at once; scrolling to within a screen
of the last one built builds those after it. Measured by benchmarks/chat_open_large.py and
benchmarks/chat_stream_stall.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QSize, Qt, Signal
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from desktop.ui.chat.message_widget import MessageWidget
from desktop.ui.widgets.throttle import Throttle

if TYPE_CHECKING:
    from desktop.store.repositories import MessageRecord, MessageStatus

PAGE_SIZE = 20  # widgets "Show earlier messages" builds; at most this many per scroll step
PRELOAD_SCREENS = 1.0  # built messages kept above what the reader sees, in screen heights
OPEN_SCREENS = 1 + PRELOAD_SCREENS  # what opening a conversation builds, in screen heights
UNSHOWN_SCREEN = QSize(800, 600)  # the screen assumed while the view has none yet
EMPTY_HINT = (
    "Write a message below to start a conversation.\n\n"
    "Enter sends · Shift+Enter starts a new line · Ctrl+P: system prompt and parameters\n"
    "Ctrl+K searches every conversation · Ctrl+N starts a new one"
)
BOTTOM_SLACK = 4  # pixels from the bottom that still count as "at the bottom"
AT_TOP_OFFSET = 8  # a message shown for a search result: this far below the view's top


class ChatView(QScrollArea):
    regenerate_requested = Signal(int)
    edit_submitted = Signal(int, str)
    branch_requested = Signal(int, int)
    continue_requested = Signal(int)
    link_activated = Signal(str)
    source_requested = Signal(object)  # a MessageSource under an answer: open it

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
        # A new chat: what to do, where the conversation will be.
        self.empty_hint = QLabel(EMPTY_HINT)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._layout.addWidget(self.empty_hint)
        self._layout.addStretch(1)
        self.setWidget(self._column)

        self._messages: list[MessageRecord] = []  # the thread shown, first to last
        self._branches: dict[int, tuple[int, int]] = {}
        self._widgets: list[MessageWidget] = []  # for self._messages[self._first : self._last]
        self._first = 0
        self._last = 0
        self._answer: MessageWidget | None = None  # the answer being streamed
        self._busy = False
        self._follow = True  # keep to the bottom as the content grows
        # After building above the reader: the widget to hold in place, and its offset.
        self._anchor: tuple[MessageWidget, int] | None = None

        self._pending: list[str] = []
        self._flush_soon = Throttle(self.flush, parent=self)  # ~60 updates a second at most
        # Building messages as the reader nears them: once per burst of scrolling.
        self._preload_soon = Throttle(self._preload, 0, parent=self)

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
            if (status := widget.status_text()) is not None:
                parts.append(status)
        return "\n".join(parts)

    # ---- whole conversations (once per load, not per token) ----

    def show_messages(
        self,
        messages: Iterable[MessageRecord],
        branches: Mapping[int, tuple[int, int]] | None = None,
        *,
        at: int | None = None,
        at_offset: int | None = None,
    ) -> None:
        """The thread `messages`, scrolled to its end; or with the message `at` (an id) at
        `at_offset` pixels from the top of the view (by default: near the top, outlined a
        moment, as a search result is shown)."""
        self.clear_messages()
        self._messages = list(messages)
        self._branches = dict(branches or {})
        self.empty_hint.setVisible(not self._messages)
        # The scroll bar, there from the start if the messages may need it: they are not laid
        # out again when it appears and takes its width (a short conversation gives it back).
        self._set_scroll_bar(bool(self._messages))
        self._anchor = None
        screen = self._screen().height()
        index = next((i for i, m in enumerate(self._messages) if m.id == at), None)
        if index is None:
            self._fit_scroll_bar(self._build_the_end())
            self._follow = True
            self._to_bottom()
            return
        # The message and two screens below it, a screen above it: room to put it anywhere
        # in the view, whatever the distance to the conversation's end.
        self._first = self._last = index
        built = self._build(
            above=False, height=int(OPEN_SCREENS * screen), count=len(self._messages)
        )
        built += self._build(above=True, height=int(PRELOAD_SCREENS * screen), count=PAGE_SIZE)
        self._fit_scroll_bar(built)
        widget = self._widgets[index - self._first]
        # Laid out now (not at the next turn of the event loop), so that the message's place
        # and the scroll range are known, and it is put where it belongs at once.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        bar = self.verticalScrollBar()
        bar.setValue(widget.y() - (AT_TOP_OFFSET if at_offset is None else at_offset))
        # The last screen cannot scroll its top up: there, the view follows the end again.
        self._follow = self._at_the_end(bar.value())
        if at_offset is None:
            widget.highlight()

    def show_earlier(self) -> None:
        """Builds up to PAGE_SIZE more widgets above those shown, keeping the reader's place."""
        if self._first == 0:
            return
        self._hold_place()
        self._build(above=True, height=None, count=PAGE_SIZE)

    def clear_messages(self) -> None:
        self._flush_soon.cancel()
        self._preload_soon.cancel()
        self._pending.clear()
        self._answer = None
        self._remove_from(0)
        self._messages = []
        self._branches = {}
        self._first = self._last = 0
        self.show_earlier_button.hide()
        self.empty_hint.show()

    def set_busy(self, busy: bool) -> None:
        """While a turn runs, the messages' actions are off: one turn at a time."""
        self._busy = busy
        for widget in self._widgets:
            widget.set_actions_enabled(not busy)

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
            self._answer.set_actions_enabled(not self._busy)
            return
        if record.id > 0:  # a new answer: after its question, instead of what followed it
            self._truncate(ids.index(record.parent_id) + 1 if record.parent_id in ids else 0)
        self._answer = self._append(record)

    def append_answer(self, piece: str) -> None:
        """Queue a piece of the answer; at the next frame, what has gathered is one append."""
        self._pending.append(piece)
        self._flush_soon.request()

    def flush(self) -> None:
        self._flush_soon.cancel()
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            if self._answer is not None:
                self._answer.append_text(text)

    def end_answer(
        self,
        record: MessageRecord | None = None,
        *,
        status: MessageStatus = "failed",
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
        widget.set_actions_enabled(not self._busy)

    # ---- widgets ----

    def _make(self, record: MessageRecord) -> MessageWidget:
        widget = MessageWidget(
            record, self._branches.get(record.id), self._column, width=self._message_width()
        )
        widget.regenerate_requested.connect(self.regenerate_requested)
        widget.edit_submitted.connect(self.edit_submitted)
        widget.branch_requested.connect(self.branch_requested)
        widget.continue_requested.connect(self.continue_requested)
        widget.link_activated.connect(self.link_activated)
        widget.source_requested.connect(self.source_requested)
        widget.set_actions_enabled(not self._busy)
        return widget

    def _build(self, *, above: bool, height: int | None, count: int) -> int:
        """Builds the widgets of the messages before the first built (last first), or after
        the last built, until they are `height` pixels tall (as laid out at the view's width)
        or `count` of them. Returns their height."""
        spacing = self._layout.spacing()
        built = total = 0
        self._column.setUpdatesEnabled(False)  # one layout and paint for them all
        while built < count and (height is None or total < height):
            if above and self._first > 0:
                self._first -= 1
                index, place = self._first, 0
            elif not above and self._last < len(self._messages):
                index, place = self._last, len(self._widgets)
                self._last += 1
            else:
                break
            widget = self._make(self._messages[index])
            total += self._insert(place, widget) + spacing
            self._widgets.insert(place, widget)
            built += 1
        self.show_earlier_button.setVisible(self._first > 0)
        self._column.setUpdatesEnabled(True)
        return total

    def _build_the_end(self) -> int:
        """With nothing built: the last messages, as many as fill two screens."""
        self._first = self._last = len(self._messages)
        height = int(OPEN_SCREENS * self._screen().height())
        return self._build(above=True, height=height, count=len(self._messages))

    def _fit_scroll_bar(self, built_height: int) -> None:
        built_all = self._first == 0 and self._last == len(self._messages)
        if built_all and built_height < self._screen().height():
            self._set_scroll_bar(False)  # all of it fits

    def _append(self, record: MessageRecord) -> MessageWidget:
        if self._last < len(self._messages):  # the end was not built: it is what is shown now
            self._remove_from(0)
            self._build_the_end()
        self._messages.append(record)
        self._last += 1
        self.empty_hint.hide()
        widget = self._make(record)
        self._insert(len(self._widgets), widget)
        self._widgets.append(widget)
        return widget

    def _insert(self, index: int, widget: MessageWidget) -> int:
        """Into the column below the 'Show earlier' button, shown at once: the layout alone
        would show it from a queued call, after whatever the caller does next. Sized first
        to the column's width, so that its answer is laid out once, at the width it gets.
        Returns its height."""
        width = self._message_width()
        height = widget.heightForWidth(width)
        if height < 0:
            height = widget.sizeHint().height()
        widget.resize(width, height)
        self._layout.insertWidget(1 + index, widget)
        widget.show()
        return height

    def _set_scroll_bar(self, always: bool) -> None:
        policy = (
            Qt.ScrollBarPolicy.ScrollBarAlwaysOn if always else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )
        if self.verticalScrollBarPolicy() != policy:
            self.setVerticalScrollBarPolicy(policy)

    def _message_width(self) -> int:
        """The width of the column's messages: the viewport's, less the column's margins (and
        less the scroll bar's width while the view is not shown: a long conversation has one)."""
        width = self._screen().width()
        bar = self.verticalScrollBar()
        always = self.verticalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOn
        if always and not bar.isVisible():
            width -= bar.sizeHint().width()
        margins = self._layout.contentsMargins()
        return max(1, width - margins.left() - margins.right())

    def _truncate(self, keep: int) -> None:
        """Keeps the first `keep` messages of the thread."""
        self._messages = self._messages[:keep]
        if keep < self._first:  # not reachable from the actions, which need a widget
            self._first = keep
            self.show_earlier_button.setVisible(keep > 0)
        self._last = min(self._last, keep)
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

    # ---- scrolling: follow the bottom only if the reader is there ----

    def _scrolled(self, value: int) -> None:
        self._follow = self._at_the_end(value)
        self._want_preload()

    def _at_the_end(self, value: int) -> bool:
        """At the bottom of the conversation: of its last message, not of the last one built."""
        bottom = value >= self.verticalScrollBar().maximum() - BOTTOM_SLACK
        return bottom and self._last == len(self._messages)

    def _range_changed(self, _minimum: int, maximum: int) -> None:
        bar = self.verticalScrollBar()
        if self._anchor is not None:
            widget, offset = self._anchor
            self._anchor = None
            if widget in self._widgets:
                bar.setValue(widget.y() - offset)
        elif self._follow:
            bar.setValue(maximum)
        self._want_preload()

    def offset_of(self, message_id: int) -> int | None:
        """Where the message's widget is, in pixels from the top of the view (None if it has
        none): to show another version of it in the same place (`show_messages(at_offset=)`)."""
        for widget in self._widgets:
            if widget.record().id == message_id:
                return widget.y() - self.verticalScrollBar().value()
        return None

    def _to_bottom(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._want_preload()

    def _want_preload(self) -> None:
        """Soon, if the reader is within a screen of the first or last message built, build
        more there."""
        if self._anchor is None and (self._near_the_top() or self._near_the_bottom()):
            self._preload_soon.request()

    def _near_the_top(self) -> bool:
        margin = PRELOAD_SCREENS * self.viewport().height()
        return self._first > 0 and self.isVisible() and self.verticalScrollBar().value() < margin

    def _near_the_bottom(self) -> bool:
        margin = PRELOAD_SCREENS * self.viewport().height()
        bar = self.verticalScrollBar()
        unbuilt = self._last < len(self._messages)
        return unbuilt and self.isVisible() and bar.maximum() - bar.value() < margin

    def _preload(self) -> None:
        if self._anchor is not None:
            return
        height = int(PRELOAD_SCREENS * self._screen().height())
        if self._near_the_top():
            self._hold_place()
            self._build(above=True, height=height, count=PAGE_SIZE)
        elif self._near_the_bottom():  # below the reader: what they see stays where it is
            self._build(above=False, height=height, count=PAGE_SIZE)

    def _hold_place(self) -> None:
        """What is built next goes above the reader: keep what they see where it is (the
        first message built stays where it is in the viewport)."""
        if not self._follow and self._widgets:
            first = self._widgets[0]
            self._anchor = (first, first.y() - self.verticalScrollBar().value())

    def _screen(self) -> QSize:
        """The size the messages are laid out in (a guess until the view is shown)."""
        if not self.isVisible():
            return UNSHOWN_SCREEN
        return self.viewport().size()


def _stand_in() -> MessageRecord:
    from datetime import UTC, datetime

    from desktop.store.repositories import MessageRecord

    now = datetime.now(UTC)
    return MessageRecord(0, 0, None, "assistant", "", "streaming", None, None, None, now, now)
