"""A summary shown as rendered Markdown in a scroll area; while it streams, pieces are gathered
and appended at most once a frame (a Throttle)."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

from desktop.ui.chat.markdown_view import MarkdownView
from desktop.ui.widgets.throttle import Throttle


class SummaryView(QScrollArea):
    def __init__(self, name: str = "Summary", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(name)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.view = MarkdownView()
        self.view.setAccessibleName(name)
        self.setWidget(self.view)
        self._pending: list[str] = []
        self._throttle = Throttle(self.flush, parent=self)

    def markdown(self) -> str:
        self.flush()
        return self.view.markdown()

    def set_markdown(self, text: str) -> None:
        self._pending.clear()
        self._throttle.cancel()
        self.view.set_markdown(text)

    def append(self, piece: str) -> None:
        self._pending.append(piece)
        self._throttle.request()

    def flush(self) -> None:
        self._throttle.cancel()
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self.view.append_markdown(text)
            bar = self.verticalScrollBar()
            if bar.value() >= bar.maximum() - 8:
                bar.setValue(bar.maximum())  # follow the text while the reader is at its end
