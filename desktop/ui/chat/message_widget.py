"""One chat message as a widget: who wrote it, its text (plain for the user, Markdown for an
answer), the status of an answer cut short, and the actions on it (Copy, Edit, Regenerate,
Continue, and the arrows `< n/m >` between the versions of a branched message).

The widget only reports what the user asked for (`regenerate_requested`, `edit_submitted`,
`branch_requested`, `continue_requested`, `link_activated`); the owner does the work and then
calls `set_record` with what the store holds. A streamed answer grows with `append_text`
(the caller coalesces the tokens) and is settled with `finish`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QPalette, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.chat.markdown_view import MarkdownView
from desktop.ui.chat.message_notes import can_continue, dropped_note, stats_tooltip, status_line

if TYPE_CHECKING:
    from desktop.store.repositories import MessageRecord

COPIED_FEEDBACK_MS = 1500  # how long Copy reads "Copied"
EDITOR_MIN_LINES = 3
PREVIOUS_ARROW = "\u2039"  # single left-pointing angle quotation mark
NEXT_ARROW = "\u203a"
EDITOR_MAX_LINES = 12  # past this, the editor scrolls

STYLE = """
QFrame#userMessage { background: palette(alternate-base); border-radius: 8px; }
QLabel#messageAuthor { font-weight: bold; }
QToolButton#messageAction { padding: 1px 6px; }
"""


class MessageWidget(QFrame):
    """`branch` is (position, count) of this message among its siblings, position counting
    from 1; None or a count of 1 shows no branch arrows."""

    regenerate_requested = Signal(int)
    edit_submitted = Signal(int, str)
    branch_requested = Signal(int, int)
    continue_requested = Signal(int)
    link_activated = Signal(str)

    def __init__(
        self,
        record: MessageRecord,
        branch: tuple[int, int] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._record = record
        self._branch = branch
        self._text = record.content
        self._markdown: MarkdownView | None = None
        self._editing = False
        self.setStyleSheet(STYLE)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 6)
        layout.setSpacing(4)

        self.author = QLabel()
        self.author.setObjectName("messageAuthor")
        self.author.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.author)

        # The body: the user's text as typed, or the answer rendered (created when needed).
        self.plain_body = QLabel()
        self.plain_body.setTextFormat(Qt.TextFormat.PlainText)
        self.plain_body.setWordWrap(True)
        self.plain_body.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.plain_body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.plain_body.setAccessibleName("Message")
        self._body_layout = QVBoxLayout()
        self._body_layout.setContentsMargins(0, 0, 0, 0)
        self._body_layout.addWidget(self.plain_body)
        layout.addLayout(self._body_layout)

        # Editing a user message: the text in an editor, with Save and Cancel.
        self.edit_panel = QWidget()
        edit_layout = QVBoxLayout(self.edit_panel)
        edit_layout.setContentsMargins(0, 0, 0, 0)
        self.editor = QPlainTextEdit()
        self.editor.setAccessibleName("Edit message")
        self.editor.setTabChangesFocus(True)
        self.editor.installEventFilter(self)
        self.editor.textChanged.connect(self._update_save_button)
        self.editor.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.editor.document().documentLayout().documentSizeChanged.connect(self._fit_editor_height)
        edit_layout.addWidget(self.editor)
        edit_buttons = QHBoxLayout()
        edit_buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel editing")
        self.cancel_button.clicked.connect(self.cancel_edit)
        self.save_button = QPushButton("Save")
        self.save_button.setAccessibleName("Save and send again")
        self.save_button.setToolTip("Send the edited message (Ctrl+Enter); Escape cancels")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save_edit)
        edit_buttons.addWidget(self.cancel_button)
        edit_buttons.addWidget(self.save_button)
        edit_layout.addLayout(edit_buttons)
        self.edit_panel.hide()
        layout.addWidget(self.edit_panel)

        # How an answer ended, when it did not simply complete.
        status_row = QHBoxLayout()
        status_row.setContentsMargins(0, 0, 0, 0)
        self.status_label = QLabel()
        self.status_label.setObjectName("messageStatus")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        status_row.addWidget(self.status_label, 1)
        layout.addLayout(status_row)

        self.dropped_label = QLabel()
        self.dropped_label.setObjectName("droppedNote")
        self.dropped_label.setTextFormat(Qt.TextFormat.PlainText)
        self.dropped_label.setWordWrap(True)
        layout.addWidget(self.dropped_label)

        # Actions: Continue (answers cut short), < n/m >, Copy, then Edit or Regenerate.
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(2)
        self.continue_button = self._action("Continue", "Continue writing this answer")
        self.continue_button.setAutoRaise(False)  # the one action that stands out
        self.continue_button.clicked.connect(self._on_continue)
        self.previous_button = self._action(PREVIOUS_ARROW, "Previous version")
        self.previous_button.clicked.connect(lambda: self._on_branch(-1))
        self.branch_label = QLabel()
        self.branch_label.setAccessibleName("Version")
        self.next_button = self._action(NEXT_ARROW, "Next version")
        self.next_button.clicked.connect(lambda: self._on_branch(+1))
        self.copy_button = self._action("Copy", "Copy message")
        self.copy_button.clicked.connect(self.copy_text)
        self.edit_button = self._action("Edit", "Edit message")
        self.edit_button.clicked.connect(self.start_edit)
        self.regenerate_button = self._action("Regenerate", "Regenerate answer")
        self.regenerate_button.clicked.connect(self._on_regenerate)
        for widget in (
            self.continue_button,
            self.previous_button,
            self.branch_label,
            self.next_button,
            self.copy_button,
            self.edit_button,
            self.regenerate_button,
        ):
            actions.addWidget(widget)
        actions.addStretch(1)
        layout.addLayout(actions)

        self._copied_timer = QTimer(self)
        self._copied_timer.setSingleShot(True)
        self._copied_timer.setInterval(COPIED_FEEDBACK_MS)
        self._copied_timer.timeout.connect(lambda: self.copy_button.setText("Copy"))

        self._apply_palette()
        self.set_record(record, branch)

    # ---- what is shown ----

    def record(self) -> MessageRecord:
        return self._record

    def text(self) -> str:
        """The message's text as shown (for a streaming answer: as far as it has come)."""
        return self._text

    def markdown_view(self) -> MarkdownView | None:
        return self._markdown

    def is_editing(self) -> bool:
        return self._editing

    def set_record(self, record: MessageRecord, branch: tuple[int, int] | None = None) -> None:
        """Shows `record` afresh: author, body, status, stats, buttons."""
        if self._editing:
            self.cancel_edit()
        self._record = record
        self._branch = branch
        self._text = record.content
        is_user = record.role == "user"
        self.setObjectName("userMessage" if is_user else "answerMessage")
        self.style().unpolish(self)
        self.style().polish(self)
        self.author.setText("You" if is_user else (record.model_id or "Assistant"))
        if is_user:
            self.plain_body.setText(record.content)
            self.plain_body.show()
            if self._markdown is not None:
                self._markdown.hide()
        else:
            self.plain_body.hide()
            view = self._answer_view()
            view.set_markdown(record.content)
            # A failed answer may have no text at all: no empty box then.
            view.setVisible(bool(record.content) or self._streaming())
        self._update_notes()
        self._update_buttons()

    def append_text(self, piece: str) -> None:
        """Streaming: adds `piece` to the answer being written."""
        if not piece:
            return
        self._text += piece
        if self._record.role == "user":
            self.plain_body.setText(self._text)
        else:
            view = self._answer_view()
            view.append_markdown(piece)
            view.show()

    def finish(self, record: MessageRecord) -> None:
        """The answer is done (complete, stopped or failed): shows the final record."""
        self.set_record(record, self._branch)

    # ---- actions ----

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self._text)
        self.copy_button.setText("Copied")
        self._copied_timer.start()

    def start_edit(self) -> None:
        if self._record.role != "user" or self._streaming():
            return
        self._editing = True
        self.editor.setPlainText(self._record.content)
        self._fit_editor_height()
        self.editor.moveCursor(QTextCursor.MoveOperation.End)
        self.plain_body.hide()
        self.edit_panel.show()
        self._update_buttons()
        self.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def cancel_edit(self) -> None:
        if not self._editing:
            return
        self._editing = False
        self.edit_panel.hide()
        self.plain_body.show()
        self._update_buttons()
        self.edit_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def save_edit(self) -> None:
        text = self.editor.toPlainText()
        if not self._editing or not text.strip():
            return
        self.cancel_edit()  # the owner shows the new version with set_record
        self.edit_submitted.emit(self._record.id, text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.editor and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Escape:
                self.cancel_edit()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                self.save_edit()
                return True
        return super().eventFilter(watched, event)

    def _on_regenerate(self) -> None:
        self.regenerate_requested.emit(self._record.id)

    def _on_continue(self) -> None:
        self.continue_requested.emit(self._record.id)

    def _on_branch(self, step: int) -> None:
        self.branch_requested.emit(self._record.id, step)

    # ---- internals ----

    def _streaming(self) -> bool:
        return self._record.status == "streaming"

    def _answer_view(self) -> MarkdownView:
        if self._markdown is None:
            self._markdown = MarkdownView(self)
            # The answer sits on the message's background, its text flush with the author.
            self._markdown.setAutoFillBackground(False)
            self._markdown.viewport().setAutoFillBackground(False)
            self._markdown.document().setDocumentMargin(0)
            self._markdown.link_activated.connect(self.link_activated)
            self._body_layout.addWidget(self._markdown)
        return self._markdown

    def _action(self, text: str, name: str) -> QToolButton:
        button = QToolButton()
        button.setObjectName("messageAction")
        button.setText(text)
        button.setAccessibleName(name)
        button.setToolTip(name)
        button.setAutoRaise(True)  # flat until hovered
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        return button

    def _update_notes(self) -> None:
        record = self._record
        is_answer = record.role != "user"
        line = status_line(record.status, record.error) if is_answer else None
        self.status_label.setText(line or "")
        self.status_label.setVisible(line is not None)
        self.status_label.setProperty("failed", record.status == "failed")
        self._apply_palette()
        note = dropped_note(record.stats) if is_answer else None
        self.dropped_label.setText(note or "")
        self.dropped_label.setVisible(note is not None)
        if is_answer and not self._streaming():
            self.setToolTip(stats_tooltip(record.model_id, record.stats))
        else:
            self.setToolTip("")

    def _update_buttons(self) -> None:
        record = self._record
        is_user = record.role == "user"
        idle = not self._streaming() and not self._editing
        branched = self._branch is not None and self._branch[1] > 1
        for widget in (self.previous_button, self.branch_label, self.next_button):
            widget.setVisible(idle and branched)
        if branched and self._branch is not None:
            position, count = self._branch
            self.branch_label.setText(f"{position}/{count}")
            self.previous_button.setEnabled(position > 1)
            self.next_button.setEnabled(position < count)
        self.copy_button.setVisible(idle and bool(self._text))
        self.edit_button.setVisible(idle and is_user)
        self.regenerate_button.setVisible(idle and not is_user)
        self.continue_button.setVisible(idle and not is_user and can_continue(record.status))

    def _fit_editor_height(self) -> None:
        # A QPlainTextEdit document's height is counted in lines.
        lines = int(self.editor.document().size().height())
        lines = max(EDITOR_MIN_LINES, min(EDITOR_MAX_LINES, lines))
        margins = self.editor.contentsMargins()
        frame = 2 * self.editor.document().documentMargin() + margins.top() + margins.bottom()
        height = lines * self.editor.fontMetrics().lineSpacing() + int(frame) + 4
        self.editor.setFixedHeight(height)

    def _update_save_button(self) -> None:
        self.save_button.setEnabled(bool(self.editor.toPlainText().strip()))

    def _apply_palette(self) -> None:
        """Notes in the muted text colour; a failure in a red that reads on the background."""
        palette = self.palette()
        dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
        muted = palette.color(QPalette.ColorRole.PlaceholderText).name()
        failed = "#f2b8b5" if dark else "#b3261e"
        colour = failed if self.status_label.property("failed") else muted
        self.status_label.setStyleSheet(f"color: {colour}; font-style: italic;")
        self.dropped_label.setStyleSheet(f"color: {muted}; font-style: italic;")
        self.branch_label.setStyleSheet(f"color: {muted};")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "dropped_label"):
            self._apply_palette()
