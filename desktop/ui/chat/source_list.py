"""The Sources under an answer from the user's documents: one row per passage the answer was
given, numbered as the answer cites them ([1], [2]), with its file, page, heading and the start
of the passage. Clicking a row (or Enter on it) asks for the source to be opened
(`source_clicked`); the chat page opens it in the source viewer (widgets/source_view.py)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from itertools import dropwhile
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from desktop.ui.widgets.source_view import source_place

if TYPE_CHECKING:
    from desktop.store.repositories import MessageSource

PASSAGE_START_CHARS = 120  # how much of a passage a row shows
HEADING_LINE = re.compile(r"\s*#{1,6}(\s|$)")  # a Markdown heading: "## The lamp"


def passage_start(text: str, limit: int = PASSAGE_START_CHARS) -> str:
    """The passage's first words, on one line, cut at a word with "…" when longer. Markdown
    heading lines it starts with are left out: the row names the heading already."""
    lines = text.splitlines()
    body = list(dropwhile(lambda line: not line.strip() or HEADING_LINE.match(line), lines))
    words = " ".join(" ".join(body or lines).split())
    if len(words) <= limit:
        return words
    cut = words[:limit]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


class SourceRow(QLabel):
    """One source: a wrapped two-line label that acts as a button."""

    clicked = Signal()

    def __init__(self, source: MessageSource) -> None:
        super().__init__()
        self.source = source
        name = Path(source.path).name
        place = source_place(source)
        first = f"<b>[{source.number}]</b> {html.escape(name)}"
        if place:
            first += f" · {html.escape(place)}"
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setText(f"{first}<br><i>{html.escape(passage_start(source.text))}</i>")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setWordWrap(True)  # after the policy: it makes the height follow the width
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(f"Source {source.number}: {name}")
        self.setToolTip(f"{source.path}\nOpen the document at this passage")

    def minimumSizeHint(self) -> QSize:
        # Its height is its height at its width (see message_widget.WrappedLabel).
        return QSize(super().minimumSizeHint().width(), 0)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit()
            return
        super().keyPressEvent(event)


class SourceList(QWidget):
    source_clicked = Signal(object)  # the MessageSource

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Sources")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 4, 0, 0)
        self._layout.setSpacing(4)
        heading = QLabel("Sources")
        bold = QFont()
        bold.setBold(True)
        heading.setFont(bold)
        self._layout.addWidget(heading)
        self._rows: list[SourceRow] = []

    def rows(self) -> list[SourceRow]:
        return list(self._rows)

    def show_sources(self, sources: Sequence[MessageSource]) -> None:
        if tuple(row.source for row in self._rows) == tuple(sources):
            return  # shown already (an answer settled with the sources it streamed with)
        for row in self._rows:
            self._layout.removeWidget(row)
            row.deleteLater()
        self._rows = []
        for source in sources:
            row = SourceRow(source)
            row.clicked.connect(lambda source=source: self.source_clicked.emit(source))
            self._layout.addWidget(row)
            self._rows.append(row)
