"""One chat message as a widget: who wrote it, its text (plain for the user, Markdown for an
answer), the Sources of an answer from the user's documents, the status of an answer cut
short, and the actions on it (Copy, Edit, Regenerate, Continue, and the arrows `< n/m >`
between the versions of a branched message).

The widget only reports what the user asked for (`regenerate_requested`, `edit_submitted`,
`branch_requested`, `continue_requested`, `link_activated`, `source_requested`); the owner
does the work and then calls `set_record` with what the store holds. A streamed answer grows
with `append_text` (the caller coalesces the tokens) and is settled with `finish`.

A long conversation shows many of these, so a message costs only what it shows: the parts
it does not show yet (the editor, the status and dropped notes, the actions it has no use
for) are made the first time they are shown or asked for, and nothing is styled with a style
sheet (a sheet per widget is parsed and matched against every child it has)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QTextCursor,
)
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
from desktop.ui.chat.source_list import SourceList

if TYPE_CHECKING:
    from desktop.store.repositories import MessageRecord

COPIED_FEEDBACK_MS = 1500  # how long Copy reads "Copied"
EDITOR_MIN_LINES = 3
PREVIOUS_ARROW = "\u2039"  # single left-pointing angle quotation mark
NEXT_ARROW = "\u203a"
EDITOR_MAX_LINES = 12  # past this, the editor scrolls
USER_BACKGROUND_RADIUS = 8  # the user's messages sit on a rounded panel
HIGHLIGHT_MS = 2500  # how long a message a search result led to stays outlined

# Top to bottom: the parts of a message below its author, and the row of actions after them.
BODY_PARTS = ("plain", "markdown", "sources", "edit", "status", "dropped")
# Left to right: the actions (a stretch follows them).
ACTIONS = ("continue", "previous", "branch", "next", "copy", "edit", "regenerate")
ACTION_LABELS = {
    "continue": ("Continue", "Continue writing this answer"),
    "previous": (PREVIOUS_ARROW, "Previous version"),
    "next": (NEXT_ARROW, "Next version"),
    "copy": ("Copy", "Copy message"),
    "edit": ("Edit", "Edit message"),
    "regenerate": ("Regenerate", "Regenerate answer"),
}


class WrappedLabel(QLabel):
    """Word-wrapped text whose height is its height at the width it has. (A QLabel's minimum
    height is its text wrapped at a narrow width: summed over a conversation's column, it
    left blank space under the last message.)"""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), 0)


class MessageEditor(QPlainTextEdit):
    """Escape cancels the edit, Ctrl+Enter saves it. The editor's own keys, not an event filter
    on the message: a filter is called while its object is being destroyed (the children send
    events as they go), and PySide then calls into a half-destroyed Python object."""

    cancelled = Signal()
    saved = Signal()

    def event(self, event: QEvent) -> bool:
        # Escape here cancels the edit: it is not the window's shortcut (Stop) while editing.
        if event.type() == QEvent.Type.ShortcutOverride and self._handles(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._handles(event):
            super().keyPressEvent(event)
        elif event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
        else:
            self.saved.emit()

    @staticmethod
    def _handles(event: QEvent) -> bool:
        if not isinstance(event, QKeyEvent):
            return False
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        return event.key() == Qt.Key.Key_Escape or (enter and ctrl)


class MessageWidget(QFrame):
    """`branch` is (position, count) of this message among its siblings, position counting
    from 1; None or a count of 1 shows no branch arrows."""

    regenerate_requested = Signal(int)
    edit_submitted = Signal(int, str)
    branch_requested = Signal(int, int)
    continue_requested = Signal(int)
    link_activated = Signal(str)
    source_requested = Signal(object)  # a MessageSource of the answer: open it

    def __init__(
        self,
        record: MessageRecord,
        branch: tuple[int, int] | None = None,
        parent: QWidget | None = None,
        *,
        width: int | None = None,
    ) -> None:
        """`width`: the width the widget will be given, if the owner knows it (an answer's
        text is then laid out once, at that width)."""
        super().__init__(parent)
        self._record = record
        self._branch = branch
        self._highlighted = False
        self._text = record.content
        self._editing = False
        self._actions_enabled = True  # off while a turn runs (the owner's `set_actions_enabled`)
        self._body: dict[str, QWidget] = {}  # the parts of BODY_PARTS made so far
        self._actions: dict[str, QWidget] = {}  # the actions made so far
        self._markdown: MarkdownView | None = None
        self._sources: SourceList | None = None
        self._edit: tuple[QWidget, QPlainTextEdit, QPushButton, QPushButton] | None = None
        self._copied_timer: QTimer | None = None
        # Its height is its height at its width (a wrapped text's size hint is its height at
        # some narrower width, which as a minimum left blank space under the last message).
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(12, 8, 12, 6)
        self._layout.setSpacing(4)
        margins = self._layout.contentsMargins()
        self._body_width = None if width is None else width - margins.left() - margins.right()

        self.author = QLabel()
        self.author.setObjectName("messageAuthor")
        self.author.setTextFormat(Qt.TextFormat.PlainText)
        bold = QFont()  # only the weight is set: the rest follows the application's font
        bold.setBold(True)
        self.author.setFont(bold)
        self._layout.addWidget(self.author)

        self._action_row = QHBoxLayout()
        self._action_row.setContentsMargins(0, 0, 0, 0)
        self._action_row.setSpacing(2)
        self._action_row.addStretch(1)
        self._layout.addLayout(self._action_row)

        self.set_record(record, branch)

    # ---- the parts, made when first shown or asked for ----

    @property
    def plain_body(self) -> QLabel:
        """The user's text as typed."""
        return self._label_part("plain")

    @property
    def status_label(self) -> QLabel:
        """How an answer ended, when it did not simply complete."""
        return self._label_part("status")

    @property
    def dropped_label(self) -> QLabel:
        """The note about earlier messages left out of the context window."""
        return self._label_part("dropped")

    @property
    def edit_panel(self) -> QWidget:
        """Editing a user message: the text in an editor, with Save and Cancel."""
        return self._edit_parts()[0]

    @property
    def editor(self) -> QPlainTextEdit:
        return self._edit_parts()[1]

    @property
    def save_button(self) -> QPushButton:
        return self._edit_parts()[2]

    @property
    def cancel_button(self) -> QPushButton:
        return self._edit_parts()[3]

    @property
    def continue_button(self) -> QToolButton:
        return self._action_button("continue")

    @property
    def previous_button(self) -> QToolButton:
        return self._action_button("previous")

    @property
    def next_button(self) -> QToolButton:
        return self._action_button("next")

    @property
    def copy_button(self) -> QToolButton:
        return self._action_button("copy")

    @property
    def edit_button(self) -> QToolButton:
        return self._action_button("edit")

    @property
    def regenerate_button(self) -> QToolButton:
        return self._action_button("regenerate")

    @property
    def branch_label(self) -> QLabel:
        label = self._action("branch")
        assert isinstance(label, QLabel)
        return label

    # ---- what is shown ----

    def record(self) -> MessageRecord:
        return self._record

    def text(self) -> str:
        """The message's text as shown (for a streaming answer: as far as it has come)."""
        return self._text

    def status_text(self) -> str | None:
        """The status line shown under an answer cut short; None when there is none."""
        if self._record.role == "user":
            return None
        return status_line(self._record.status, self._record.error)

    def markdown_view(self) -> MarkdownView | None:
        return self._markdown

    def source_list(self) -> SourceList | None:
        """The answer's Sources (None until it has some)."""
        return self._sources

    def is_editing(self) -> bool:
        return self._editing

    def set_record(self, record: MessageRecord, branch: tuple[int, int] | None = None) -> None:
        """Shows `record` afresh: author, body, status, stats, buttons."""
        if self._editing:
            self.cancel_edit()
        was_user = self._record.role == "user"
        self._record = record
        self._branch = branch
        self._text = record.content
        is_user = record.role == "user"
        self.setObjectName("userMessage" if is_user else "answerMessage")
        self.author.setText("You" if is_user else (record.model_id or "Assistant"))
        if is_user:
            plain = self._label_part("plain", update=False)
            plain.setText(record.content)
            plain.show()
            if self._markdown is not None:
                self._markdown.hide()
        else:
            if "plain" in self._body:
                self._body["plain"].hide()
            view = self._answer_view()
            view.set_citations([source.number for source in record.sources])
            view.set_markdown(record.content)
            # A failed answer may have no text at all: no empty box then.
            view.setVisible(bool(record.content) or self._streaming())
        self._update_sources()
        self._update_notes()
        self._update_buttons()
        if was_user != is_user:
            self.update()  # the user's panel comes or goes

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

    def set_actions_enabled(self, enabled: bool) -> None:
        """Off while a turn runs: Edit, Regenerate, Continue and the arrows (Copy stays)."""
        self._actions_enabled = enabled
        self._update_enabled()

    # ---- actions ----

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self._text)
        self.copy_button.setText("Copied")
        if self._copied_timer is None:
            self._copied_timer = QTimer(self)
            self._copied_timer.setSingleShot(True)
            self._copied_timer.setInterval(COPIED_FEEDBACK_MS)
            self._copied_timer.timeout.connect(lambda: self.copy_button.setText("Copy"))
        self._copied_timer.start()

    def start_edit(self) -> None:
        if self._record.role != "user" or self._streaming():
            return
        self._editing = True
        editor = self.editor
        editor.setPlainText(self._record.content)
        self._fit_editor_height()
        editor.moveCursor(QTextCursor.MoveOperation.End)
        self.plain_body.hide()
        self.edit_panel.show()
        self._update_buttons()
        editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def cancel_edit(self) -> None:
        if not self._editing:
            return
        self._editing = False
        self.edit_panel.hide()
        self.plain_body.show()
        self._update_buttons()
        self.edit_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def save_edit(self) -> None:
        if not self._editing or self._edit is None:
            return
        text = self._edit[1].toPlainText()
        if not text.strip():
            return
        self.cancel_edit()  # the owner shows the new version with set_record
        self.edit_submitted.emit(self._record.id, text)

    def _on_regenerate(self) -> None:
        self.regenerate_requested.emit(self._record.id)

    def _on_continue(self) -> None:
        self.continue_requested.emit(self._record.id)

    def _on_citation(self, number: int) -> None:
        for source in self._record.sources:
            if source.number == number:
                self.source_requested.emit(source)

    def _on_branch(self, step: int) -> None:
        self.branch_requested.emit(self._record.id, step)

    # ---- internals ----

    def _streaming(self) -> bool:
        return self._record.status == "streaming"

    def _add_body(self, name: str, widget: QWidget) -> None:
        """Into its place among the parts made so far (below the author, above the actions),
        hidden until shown."""
        widget.hide()
        before = BODY_PARTS[: BODY_PARTS.index(name)]
        index = 1 + sum(part in self._body for part in before)  # 1: after the author
        self._body[name] = widget
        self._layout.insertWidget(index, widget)

    def _label_part(self, name: str, *, update: bool = True) -> QLabel:
        """The plain body or a note, made on first use (then, with `update`, in the state
        the record gives it)."""
        label = self._body.get(name)
        if label is None:
            label = WrappedLabel()
            if name == "plain":
                label.setTextInteractionFlags(
                    Qt.TextInteractionFlag.TextSelectableByMouse
                    | Qt.TextInteractionFlag.TextSelectableByKeyboard
                )
                label.setAccessibleName("Message")
            else:
                label.setObjectName("messageStatus" if name == "status" else "droppedNote")
                if name == "status":
                    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                italic = QFont()  # only the style is set: the rest follows the application's
                italic.setItalic(True)
                label.setFont(italic)
                self._colour(label, self._muted())
            self._add_body(name, label)
            if update and name == "plain":
                if self._record.role == "user":
                    label.setText(self._text)
                    label.setVisible(not self._editing)
            elif update:
                self._update_notes()
        assert isinstance(label, QLabel)
        return label

    def _answer_view(self) -> MarkdownView:
        if self._markdown is None:
            view = MarkdownView(self)
            # The answer sits on the message's background, its text flush with the author.
            view.setAutoFillBackground(False)
            view.viewport().setAutoFillBackground(False)
            view.document().setDocumentMargin(0)
            if self._body_width is not None:
                view.set_text_width(self._body_width)
            view.link_activated.connect(self.link_activated)
            view.citation_clicked.connect(self._on_citation)
            self._markdown = view
            self._add_body("markdown", view)
        return self._markdown

    def _update_sources(self) -> None:
        sources = self._record.sources if self._record.role != "user" else ()
        if sources and self._sources is None:
            self._sources = SourceList()
            self._sources.source_clicked.connect(self.source_requested)
            self._add_body("sources", self._sources)
        if self._sources is not None:
            self._sources.show_sources(sources)
            self._sources.setVisible(bool(sources))

    def _edit_parts(self) -> tuple[QWidget, QPlainTextEdit, QPushButton, QPushButton]:
        if self._edit is None:
            panel = QWidget()
            edit_layout = QVBoxLayout(panel)
            edit_layout.setContentsMargins(0, 0, 0, 0)
            editor = MessageEditor()
            editor.setAccessibleName("Edit message")
            editor.setTabChangesFocus(True)
            editor.cancelled.connect(self.cancel_edit)
            editor.saved.connect(self.save_edit)
            editor.textChanged.connect(self._update_save_button)
            editor.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            edit_layout.addWidget(editor)
            edit_buttons = QHBoxLayout()
            edit_buttons.addStretch(1)
            cancel = QPushButton("Cancel")
            cancel.setAccessibleName("Cancel editing")
            cancel.clicked.connect(self.cancel_edit)
            save = QPushButton("Save")
            save.setAccessibleName("Save and send again")
            save.setToolTip("Send the edited message (Ctrl+Enter); Escape cancels")
            save.setDefault(True)
            save.clicked.connect(self.save_edit)
            edit_buttons.addWidget(cancel)
            edit_buttons.addWidget(save)
            edit_layout.addLayout(edit_buttons)
            self._edit = (panel, editor, save, cancel)
            self._add_body("edit", panel)
            layout = editor.document().documentLayout()
            layout.documentSizeChanged.connect(self._fit_editor_height)
        return self._edit

    def _action(self, name: str) -> QWidget:
        """Action `name`, made on first use in the state the record gives it."""
        widget = self._actions.get(name)
        if widget is None:
            widget = self._make_action(name)
            self._update_buttons()
        return widget

    def _action_button(self, name: str) -> QToolButton:
        button = self._action(name)
        assert isinstance(button, QToolButton)
        return button

    def _make_action(self, name: str) -> QWidget:
        """Makes action `name` in its place in the row, hidden."""
        widget: QWidget
        if name == "branch":
            label = QLabel()
            label.setAccessibleName("Version")
            self._colour(label, self._muted())
            widget = label
        else:
            text, accessible = ACTION_LABELS[name]
            button = QToolButton()
            button.setObjectName("messageAction")
            button.setText(text)
            button.setAccessibleName(accessible)
            button.setToolTip(accessible)
            button.setAutoRaise(name != "continue")  # flat until hovered; Continue stands out
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(self._action_slot(name))
            widget = button
        widget.hide()
        index = sum(action in self._actions for action in ACTIONS[: ACTIONS.index(name)])
        self._actions[name] = widget
        self._action_row.insertWidget(index, widget)
        return widget

    def _action_slot(self, name: str) -> Callable[[], None]:
        if name == "continue":
            return self._on_continue
        if name == "previous":
            return lambda: self._on_branch(-1)
        if name == "next":
            return lambda: self._on_branch(+1)
        if name == "copy":
            return self.copy_text
        if name == "edit":
            return self.start_edit
        return self._on_regenerate

    def _show_action(self, name: str, visible: bool) -> None:
        """Shows action `name` (making it if need be) or hides it (if it was ever made)."""
        widget = self._actions.get(name)
        if widget is None and visible:
            widget = self._make_action(name)
        if widget is not None:
            widget.setVisible(visible)

    def _update_notes(self) -> None:
        record = self._record
        is_answer = record.role != "user"
        line = self.status_text()
        if line is not None or "status" in self._body:
            label = self._label_part("status", update=False)
            label.setText(line or "")
            self._colour(label, self._failed() if record.status == "failed" else self._muted())
            label.setVisible(line is not None)
        note = dropped_note(record.stats) if is_answer else None
        if note is not None or "dropped" in self._body:
            label = self._label_part("dropped", update=False)
            label.setText(note or "")
            label.setVisible(note is not None)
        if is_answer and not self._streaming():
            self.setToolTip(stats_tooltip(record.model_id, record.stats))
        else:
            self.setToolTip("")

    def _update_buttons(self) -> None:
        record = self._record
        is_user = record.role == "user"
        idle = not self._streaming() and not self._editing
        branched = self._branch is not None and self._branch[1] > 1
        for name in ("previous", "branch", "next"):
            self._show_action(name, idle and branched)
        if branched and self._branch is not None and "branch" in self._actions:
            position, count = self._branch
            label = self._actions["branch"]
            assert isinstance(label, QLabel)
            label.setText(f"{position}/{count}")
        self._show_action("copy", idle and bool(self._text))
        self._show_action("edit", idle and is_user)
        self._show_action("regenerate", idle and not is_user)
        self._show_action("continue", idle and not is_user and can_continue(record.status))
        self._update_enabled()

    def _update_enabled(self) -> None:
        enabled = self._actions_enabled
        for name in ("edit", "regenerate", "continue"):
            if name in self._actions:
                self._actions[name].setEnabled(enabled)
        position, count = self._branch if self._branch else (1, 1)
        if "previous" in self._actions:
            self._actions["previous"].setEnabled(enabled and position > 1)
        if "next" in self._actions:
            self._actions["next"].setEnabled(enabled and position < count)

    def _fit_editor_height(self) -> None:
        if self._edit is None:
            return
        editor = self._edit[1]
        # A QPlainTextEdit document's height is counted in lines.
        lines = int(editor.document().size().height())
        lines = max(EDITOR_MIN_LINES, min(EDITOR_MAX_LINES, lines))
        margins = editor.contentsMargins()
        frame = 2 * editor.document().documentMargin() + margins.top() + margins.bottom()
        height = lines * editor.fontMetrics().lineSpacing() + int(frame) + 4
        editor.setFixedHeight(height)

    def _update_save_button(self) -> None:
        if self._edit is not None:
            _panel, editor, save, _cancel = self._edit
            save.setEnabled(bool(editor.toPlainText().strip()))

    # ---- colours: the notes in the muted text colour, a failure in a red that reads ----

    def _muted(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.PlaceholderText)

    def _failed(self) -> QColor:
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        return QColor("#f2b8b5" if dark else "#b3261e")

    @staticmethod
    def _colour(label: QLabel, colour: QColor) -> None:
        palette = QPalette()  # only the text colour is set: the rest follows the parent's
        palette.setColor(QPalette.ColorRole.WindowText, colour)
        label.setPalette(palette)

    def _apply_palette(self) -> None:
        muted = self._muted()
        failed = self._failed() if self._record.status == "failed" else muted
        for widget, colour in (
            (self._body.get("dropped"), muted),
            (self._body.get("status"), failed),
            (self._actions.get("branch"), muted),
        ):
            if isinstance(widget, QLabel):
                self._colour(widget, colour)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "_actions"):
            self._apply_palette()

    def highlight(self, milliseconds: int = HIGHLIGHT_MS) -> None:
        """Outline the message for a moment: the one a search result led to."""
        self._highlighted = True
        self.update()
        QTimer.singleShot(milliseconds, self._end_highlight)

    def is_highlighted(self) -> bool:
        return self._highlighted

    def _end_highlight(self) -> None:
        self._highlighted = False
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._record.role == "user" or self._highlighted:
            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            if self._highlighted:
                painter.setPen(self.palette().color(QPalette.ColorRole.Highlight))
            if self._record.role == "user":
                painter.setBrush(self.palette().color(QPalette.ColorRole.AlternateBase))
            radius = USER_BACKGROUND_RADIUS
            painter.drawRoundedRect(self.rect().adjusted(1, 1, -1, -1), radius, radius)
            painter.end()
        super().paintEvent(event)
