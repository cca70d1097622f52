"""One chat answer shown as rendered Markdown: headings, lists, tables, links and highlighted
code with a "Copy" link per block. Its height fits its contents, so that several stack in a
scroll area; a streamed answer grows with `append_markdown`, which re-renders only the
answer's last block (see `markdown_html.MarkdownRenderer`)."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

from desktop.ui.chat.markdown_html import (
    COPY_SCHEME,
    LINK_SCHEMES,
    MarkdownRenderer,
    RenderedMarkdown,
    is_allowed_link,
)

BOTTOM_SLACK_PX = 4  # this close to the end counts as "at the bottom"


class MarkdownView(QTextBrowser):
    """Read-only. Links are not followed here: http(s) and mailto links are reported by
    `link_activated` (the owner opens them, e.g. with QDesktopServices); a code block's Copy
    link puts the block on the clipboard and reports `code_copied(index)`.

    `dark=None` follows the palette (a dark Base colour picks the dark code colours)."""

    link_activated = Signal(str)
    code_copied = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, dark: bool | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Answer")
        self.setReadOnly(True)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # The height follows the contents, so this view never scrolls itself vertically; a
        # scrollbar appearing while the layout catches up would only make the text jump.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self._follow_palette = dark is None
        self._renderer = MarkdownRenderer(dark=self._palette_is_dark() if dark is None else dark)
        self._text = ""
        self._rendered = RenderedMarkdown("", [])
        self.anchorClicked.connect(self._on_anchor_clicked)
        self.document().documentLayout().documentSizeChanged.connect(self.updateGeometry)

    # ---- contents ----

    def markdown(self) -> str:
        return self._text

    def rendered(self) -> RenderedMarkdown:
        """What is shown: its HTML and the raw text of each code block."""
        return self._rendered

    def set_markdown(self, text: str) -> None:
        self._text = text
        self._show()

    def append_markdown(self, piece: str) -> None:
        """Streaming: `piece` is added to the text, and only the last block is re-rendered.
        Callers coalesce the tokens (the bridge emits at most ~60 pieces a second)."""
        if not piece:
            return
        self._text += piece
        self._show()

    def _show(self) -> None:
        rendered = self._renderer.render(self._text)
        if rendered.html == self._rendered.html:
            self._rendered = rendered
            return
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - BOTTOM_SLACK_PX
        position = bar.value()
        across = self.horizontalScrollBar().value()
        self._rendered = rendered
        self.setHtml(rendered.html)
        bar.setValue(bar.maximum() if at_bottom else position)
        self.horizontalScrollBar().setValue(across)

    # ---- links ----

    def _on_anchor_clicked(self, url: QUrl) -> None:
        scheme = url.scheme().lower()
        if scheme == COPY_SCHEME:
            self.copy_code(url.path())
        elif scheme in LINK_SCHEMES and is_allowed_link(url.toString()):
            self.link_activated.emit(url.toString())

    def copy_code(self, index: int | str) -> bool:
        """Puts code block `index` on the clipboard; False if there is no such block."""
        try:
            number = int(index)
        except ValueError:
            return False
        blocks = self._rendered.code_blocks
        if not 0 <= number < len(blocks):
            return False
        QGuiApplication.clipboard().setText(blocks[number])
        self.code_copied.emit(number)
        return True

    # ---- size: as tall as the document ----

    def sizeHint(self) -> QSize:
        margins = self.contentsMargins()
        viewport = self.viewportMargins()
        height = (
            math.ceil(self.document().size().height())
            + margins.top()
            + margins.bottom()
            + viewport.top()
            + viewport.bottom()
        )
        scrollbar = self.horizontalScrollBar()
        if scrollbar.isVisible():
            height += scrollbar.sizeHint().height()
        return QSize(super().sizeHint().width(), height)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.sizeHint().height())

    # ---- light or dark ----

    def _palette_is_dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Base).lightness() < 128

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and getattr(self, "_follow_palette", False):
            dark = self._palette_is_dark()
            if dark != self._renderer.dark:
                self._renderer = MarkdownRenderer(dark=dark)
                self._show()
