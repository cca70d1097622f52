"""An answer shown token by token: each token's background says how likely the model found
it, hovering shows the most likely tokens at that place, and clicking one of those puts it
in place of the token and goes on from there (`force_requested`), where the run's model can
(a remote server cannot: the choice is greyed out with its reason).

Tokens arrive in bursts while a run streams; they are appended, never re-rendered, and the
view catches up at most once a frame (a Throttle)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QMenu, QTextEdit, QWidget

from desktop.engine.protocol import GeneratedToken
from desktop.ui.widgets.throttle import Throttle

POSITION = QTextFormat.Property.UserProperty + 1  # the token's place in the answer
# Probability bands, most likely first: (at least, background, what it means).
BANDS = (
    (0.9, QColor("#c8e6c9"), "very likely (90% or more)"),
    (0.5, QColor("#e6f4c4"), "likely (50 to 90%)"),
    (0.2, QColor("#fff3c4"), "uncertain (20 to 50%)"),
    (0.05, QColor("#ffe0c2"), "unlikely (5 to 20%)"),
    (0.0, QColor("#ffcdd2"), "very unlikely (under 5%)"),
)
FORCED = QColor("#d1c4e9")
FORCE_HINT = "Click to put another token here and go on from it."


def probability(logprob: float) -> float:
    return math.exp(logprob)


def percent(logprob: float) -> str:
    p = probability(logprob) * 100
    return f"{p:.1f}%" if p >= 0.1 else "<0.1%"


def band_color(logprob: float) -> QColor:
    p = probability(logprob)
    return next(color for floor, color, _words in BANDS if p >= floor)


def shown(text: str) -> str:
    """A token's text as a label: spaces and line breaks made visible."""
    return text.replace("\n", "↵").replace("\t", "⇥").replace(" ", "·") or "∅"


def alternatives_tooltip(token: GeneratedToken, forcing: str | None = None) -> str:
    """The token, its probability and its alternatives; `forcing`: why none can be chosen."""
    rows = "".join(
        f"<tr><td><code>{html.escape(shown(a.text))}</code></td>"
        f"<td align='right'>{percent(a.logprob)}</td></tr>"
        for a in token.alternatives
    )
    how = "chosen by you" if token.forced else "the model's probability"
    head = (
        f"<b><code>{html.escape(shown(token.choice.text))}</code></b> "
        f"{percent(token.choice.logprob)} ({how})"
    )
    hint = f"<br><i>{html.escape(forcing or FORCE_HINT)}</i>" if rows else ""
    return f"{head}<table>{rows}</table>{hint}"


class TokenView(QTextEdit):
    force_requested = Signal(int, int)  # position in the answer, the alternative's token id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setAccessibleName("Output tokens")
        self.setPlaceholderText("The answer appears here, token by token.")
        self.tokens: list[GeneratedToken] = []
        self.forcing: str | None = None  # why no alternative can be chosen; None: it can
        self._pending_tokens: list[GeneratedToken] = []
        self._pending_text: list[str] = []
        self._throttle = Throttle(self.flush, parent=self)

    # ---- filling ----

    def show_answer(self, text: str, tokens: Sequence[GeneratedToken]) -> None:
        """Show a whole answer at once (a saved run); `text` where it has no tokens."""
        self.clear_answer()
        if tokens:
            self.append_tokens(tokens)
        else:
            self.append_text(text)
        self.flush()

    def clear_answer(self) -> None:
        self._throttle.cancel()
        self.tokens = []
        self._pending_tokens.clear()
        self._pending_text.clear()
        self.clear()

    def append_tokens(self, tokens: Sequence[GeneratedToken]) -> None:
        self._pending_tokens.extend(tokens)
        self._throttle.request()

    def append_text(self, text: str) -> None:
        """Text without token probabilities (a run that did not ask for them)."""
        self._pending_text.append(text)
        self._throttle.request()

    def flush(self) -> None:
        self._throttle.cancel()
        if not self._pending_tokens and not self._pending_text:
            return
        bar = self.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        for token in self._pending_tokens:
            cursor.insertText(token.choice.text, self._format(len(self.tokens), token))
            self.tokens.append(token)
        if self._pending_text:
            cursor.insertText("".join(self._pending_text), QTextCharFormat())
        cursor.endEditBlock()
        self._pending_tokens.clear()
        self._pending_text.clear()
        if at_end:
            bar.setValue(bar.maximum())

    def _format(self, position: int, token: GeneratedToken) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setBackground(FORCED if token.forced else band_color(token.choice.logprob))
        fmt.setForeground(QColor("#1b1b1b"))  # dark on the light bands, in either theme
        fmt.setToolTip(alternatives_tooltip(token, self.forcing))
        fmt.setProperty(POSITION, position)
        return fmt

    # ---- choosing an alternative ----

    def set_forcing(self, reason: str | None) -> None:
        """Choosing an alternative to go on from greyed out with `reason` (the run's model
        cannot), or offered (None). The tokens shown take the new hint."""
        if reason == self.forcing:
            return
        self.forcing = reason
        self.flush()
        tokens = self.tokens
        if tokens:
            self.clear_answer()
            self.append_tokens(tokens)
            self.flush()

    def position_at(self, point: QPoint) -> int | None:
        """The token under `point` (viewport coordinates), if any."""
        offset = QPoint(self.horizontalScrollBar().value(), self.verticalScrollBar().value())
        layout = self.document().documentLayout()
        hit = layout.hitTest(QPointF(point + offset), Qt.HitTestAccuracy.ExactHit)
        if hit < 0:
            return None
        cursor = QTextCursor(self.document())
        cursor.setPosition(hit + 1)  # charFormat() is that of the character before the cursor
        value = cursor.charFormat().property(POSITION)
        return value if isinstance(value, int) and value < len(self.tokens) else None

    def alternatives_menu(self, position: int) -> QMenu:
        """The menu of alternatives for the token at `position`; choosing one asks to force it."""
        token = self.tokens[position]
        menu = QMenu(self)
        menu.setAccessibleName("Alternatives")
        menu.setToolTipsVisible(True)
        menu.addSection(
            f"Token {position + 1}: "
            + ("the alternatives" if self.forcing else "put in its place and go on")
        )
        for alternative in token.alternatives:
            label = f"{shown(alternative.text)}    {percent(alternative.logprob)}"
            action = menu.addAction(label)
            # By text too: a server's tokens may come without their ids.
            chosen = (alternative.token_id, alternative.text) == (
                token.choice.token_id,
                token.choice.text,
            )
            action.setEnabled(not chosen and self.forcing is None)
            action.setToolTip("the token chosen" if chosen else (self.forcing or ""))
            action.triggered.connect(
                lambda _checked=False, tid=alternative.token_id: self.force_requested.emit(
                    position, tid
                )
            )
        return menu

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton or self.textCursor().hasSelection():
            return
        position = self.position_at(event.position().toPoint())
        if position is not None and self.tokens[position].alternatives:
            self.alternatives_menu(position).popup(event.globalPosition().toPoint())
