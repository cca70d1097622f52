"""One chat answer shown as rendered Markdown: headings, lists, tables, links and highlighted
code with a "Copy" link per block. Its height fits its contents, so that several stack in a
scroll area; a streamed answer grows with `append_markdown`, which re-renders only the
answer's last block (see `markdown_html.MarkdownRenderer`) and replaces only that block in
the document (see `AnswerDocument`): the finished blocks are neither parsed nor laid out
again. Inside a code block that is still open, the new code is appended to the block's text
as it is; the block is highlighted once, when its fence closes or the stream ends."""

from __future__ import annotations

import html as html_text
import math
from collections.abc import Collection

from PySide6.QtCore import QEvent, QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QGuiApplication,
    QPalette,
    QResizeEvent,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextList,
    QTextListFormat,
)
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QTextEdit, QWidget

from desktop.ui.chat.markdown_html import (
    CITATION_SCHEME,
    COPY_SCHEME,
    LINK_SCHEMES,
    MarkdownRenderer,
    RenderedMarkdown,
    is_allowed_link,
)

BOTTOM_SLACK_PX = 4  # this close to the end counts as "at the bottom"
UNPLACED_TEXT_WIDTH = 600  # the width the text is laid out at before the view is placed
FRAME_START = "\ufdd0"  # QTextBeginningOfFrame: a table begins
FRAME_END = "\ufdd1"  # QTextEndOfFrame


class AnswerDocument:
    """Keeps a QTextDocument equal to `setHtml(stable + tail)` while an answer streams, by
    replacing only the tail: `stable` is the renderer's finished blocks (it only grows, by
    whole blocks), `tail` its last block. What is already in the document is neither parsed
    nor laid out again, so an update costs the size of the last block, not of the answer.

    Qt's HTML importer joins two runs of blocks in ways a fragment insert does not always
    repeat (empty blocks, lists, tables): where the join is one this class cannot follow
    exactly, it sets the whole HTML instead, as it does when the text starts over.

    When the tail only grows by plain text at the end of a code block that ends the document
    (an open code block while the answer streams, outside any table), that text is typed in
    at the end instead: the tail is not parsed or laid out again either."""

    def __init__(self, document: QTextDocument) -> None:
        self._document = document
        self._shown: str | None = None  # the HTML the document equals; None: not known
        self._stable = ""  # the finished blocks' HTML in the document, up to _mark
        self._mark: int | None = None  # where the tail starts; None: not known (set whole)
        self._last_empty: tuple[QTextBlockFormat, QTextCharFormat, QTextListFormat | None] | None
        self._last_empty = None  # the formats of the stable part's last block, if empty

    def forget(self) -> None:
        """The document was set another way: the next update starts over."""
        self._shown = None
        self._stable = ""
        self._mark = None

    def update(self, stable: str, tail: str) -> None:
        if stable == self._stable and self._append_code(stable + tail):
            self._shown = stable + tail
            return
        self._replace_tail(stable, tail)
        self._shown = stable + tail

    def _replace_tail(self, stable: str, tail: str) -> None:
        if not stable:
            self._document.setHtml(tail)
            self._stable, self._mark = "", None
            return
        if self._mark is not None and stable.startswith(self._stable):
            self._truncate()
            added = stable[len(self._stable) :].strip()
            if not added or self._append(added):
                self._remember(stable)
                if self._append(tail):
                    return
        # Start over: the stable part whole, then the tail (or all of it whole).
        self._document.setHtml(stable.rstrip())
        self._remember(stable)
        if not self._append(tail):
            self._document.setHtml(stable + tail)
            self._stable, self._mark = "", None

    def _remember(self, stable: str) -> None:
        self._stable = stable
        self._mark = self._document.characterCount() - 1
        last = self._document.lastBlock()
        self._last_empty = None
        if last.length() == 1:
            lst = last.textList()
            self._last_empty = (
                last.blockFormat(),
                last.charFormat(),
                lst.format() if lst is not None else None,
            )

    def _truncate(self) -> None:
        """Takes the tail out: the document is as `setHtml(stable)` left it."""
        assert self._mark is not None
        cursor = QTextCursor(self._document)
        cursor.setPosition(self._mark)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        if self._last_empty is not None:
            # Removing from an empty block's end drops that block's formats: put them back.
            block_format, char_format, list_format = self._last_empty
            last = self._document.lastBlock()
            cursor = QTextCursor(last)
            if list_format is not None and not isinstance(
                self._document.object(block_format.objectIndex()), QTextList
            ):
                block_format = QTextBlockFormat(block_format)
                block_format.setObjectIndex(-1)
            if last.blockFormat() != block_format:
                cursor.setBlockFormat(block_format)
            if last.charFormat() != char_format:
                cursor.setBlockCharFormat(char_format)
            if list_format is not None and cursor.block().textList() is None:
                cursor.createList(list_format)

    def _append(self, html: str) -> bool:
        """Appends whole blocks after the document's last one, as `setHtml` would have
        joined them; False, leaving the document as it was, where it cannot."""
        if not html:
            return True
        document = self._document
        part = QTextDocument()
        part.setHtml(html)
        first = part.begin()
        last = document.lastBlock()
        if last.length() == 1 and not _follows_table(document, last):
            return False  # an empty block (a rule, an empty heading or item) ends the text
        # A table first (a code block) comes after an empty block of no format of its own;
        # any other empty first block (a table in a quote or an item, an empty heading...)
        # is one that Qt keeps or drops depending on what comes before it.
        table_first = (
            first.length() == 1
            and part.characterAt(0) == FRAME_START
            and first.textList() is None
            and first.blockFormat() == QTextBlockFormat()
            and first.charFormat() == QTextCharFormat()
        )
        if first.length() == 1 and not table_first:
            return False
        fragment = QTextDocumentFragment(part)
        cursor = QTextCursor(document)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if table_first:
            cursor.insertFragment(fragment)  # the table's frame follows the last block
        elif first.textList() is not None:
            # A list's first item comes as a block of its own, unless the block before is
            # an item too (then it would join it): a plain block between, taken out after.
            spacer = last.textList() is not None
            if spacer:
                cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
            start = cursor.position()
            cursor.insertFragment(fragment)
            if spacer:
                cursor.setPosition(start - 1)
                cursor.deleteChar()
        else:
            # The fragment's first block would join the last one: a new block, formatted as
            # the fragment's first, for it to fill.
            block_format = first.blockFormat()
            block_format.setObjectIndex(-1)
            cursor.insertBlock(block_format, first.charFormat())
            cursor.insertFragment(fragment)
        return True

    def _append_code(self, html: str) -> bool:
        """When `html` is what the document shows plus plain text at the end of a <pre> that
        ends the document, types that text in; False (nothing done) otherwise."""
        shown = self._shown
        if shown is None or len(html) <= len(shown):
            return False
        end = shown.rfind("</pre>")
        if end < 0:
            return False
        body = shown.find(">", shown.rfind("<pre", 0, end)) + 1  # the code, after <pre ...>
        added = html[end : end + len(html) - len(shown)]
        if (
            "<table" in shown[end:]  # a table after it: the code is not the last block
            or "<" in shown[body:end]  # highlighted: the new text's format is not the last's
            or "<" in added
            or not html.startswith(shown[:end])
            or not html.endswith(shown[end:])
        ):
            return False
        # Qt's importer drops a <pre>'s last newline: one held back until more text follows.
        code = html_text.unescape(shown[body:end])
        last, line = self._document.lastBlock(), _last_line(code)
        # What follows the code's last line there is white space Qt made of the markup after
        # the <pre> (the newline after a list item's end): the new code goes in before it.
        if (
            not last.blockFormat().nonBreakableLines()
            or not last.text().startswith(line)
            or last.text()[len(line) :].strip(" ")
        ):
            return False  # the document does not end with the code's last line
        text = html_text.unescape(added)
        if code.endswith("\n"):
            text = "\n" + text
        text = text.removesuffix("\n")
        if text:
            cursor = QTextCursor(self._document)
            cursor.setPosition(last.position() + len(line))
            cursor.insertText(text)
        return True


def _last_line(code: str) -> str:
    """The last line a <pre> holding `code` shows (Qt drops one last newline)."""
    return code.removesuffix("\n").rpartition("\n")[2]


def _follows_table(document: QTextDocument, block: QTextBlock) -> bool:
    return block.position() > 0 and document.characterAt(block.position() - 1) == FRAME_END


class MarkdownView(QTextBrowser):
    """Read-only. Links are not followed here: http(s) and mailto links are reported by
    `link_activated` (the owner opens them, e.g. with QDesktopServices); a code block's Copy
    link puts the block on the clipboard and reports `code_copied(index)`.

    `dark=None` follows the palette (a dark Base colour picks the dark code colours)."""

    link_activated = Signal(str)
    code_copied = Signal(int)
    citation_clicked = Signal(int)  # an answer's [n], for its source n

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
        # The text is wrapped at a width this view sets (its viewport's, or the one its owner
        # says it will have), never at whatever width Qt happens to find: laying out a long
        # answer is the costly part, so it is done once, at the width it gets.
        self.setLineWrapMode(QTextEdit.LineWrapMode.FixedPixelWidth)
        self.setLineWrapColumnOrWidth(UNPLACED_TEXT_WIDTH)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._follow_palette = dark is None
        self._renderer = MarkdownRenderer(dark=self._palette_is_dark() if dark is None else dark)
        self._text = ""
        self._streaming = False  # appended to since it was last set whole
        self._rendered = RenderedMarkdown("", [])
        self.document().setUndoRedoEnabled(False)  # read-only: no history to keep
        self._answer = AnswerDocument(self.document())
        self.anchorClicked.connect(self._on_anchor_clicked)
        self.document().documentLayout().documentSizeChanged.connect(self.updateGeometry)

    # ---- contents ----

    def markdown(self) -> str:
        return self._text

    def rendered(self) -> RenderedMarkdown:
        """What is shown: its HTML and the raw text of each code block."""
        return self._rendered

    def set_markdown(self, text: str) -> None:
        """Shows `text`. Setting the text a stream ended with (or more of it) ends the stream:
        only the last block is rendered again, its code highlighted if it was still open."""
        ends_stream = self._streaming and text.startswith(self._text)
        self._text = text
        self._streaming = False
        self._show(streaming=ends_stream)

    def set_citations(self, numbers: Collection[int]) -> None:
        """The source numbers the answer has: its [n] citations become links to them."""
        if frozenset(numbers) == self._renderer.citations:
            return
        self._renderer.set_citations(numbers)
        self._streaming = False  # rendered whole again, not as a stream's last block
        self._show(streaming=False)

    def append_markdown(self, piece: str) -> None:
        """Streaming: `piece` is added to the text, and only the last block is re-rendered
        and replaced in the document (or, inside an open code block, the new code appended
        to it). Callers coalesce the tokens (the view flushes at most ~60 times a second)."""
        if not piece:
            return
        self._text += piece
        self._streaming = True
        self._show(streaming=True)

    def _show(self, *, streaming: bool) -> None:
        """`streaming`: only the last block may have changed since the last update."""
        rendered = self._renderer.render(self._text, streaming=self._streaming)
        if rendered.html == self._rendered.html:
            self._rendered = rendered
            return
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - BOTTOM_SLACK_PX
        position = bar.value()
        across = self.horizontalScrollBar().value()
        self._rendered = rendered
        if streaming:
            split = self._renderer.stable_length
            selection = self.textCursor()
            anchor, position = selection.anchor(), selection.position()
            self._answer.update(rendered.html[:split], rendered.html[split:])
            self._keep_selection(anchor, position)
        else:
            self._answer.forget()
            self.setHtml(rendered.html)
        bar.setValue(bar.maximum() if at_bottom else position)
        self.horizontalScrollBar().setValue(across)

    def _keep_selection(self, anchor: int, position: int) -> None:
        """What the reader selected stays selected while the answer grows (a selection that
        ends where the new text goes in would otherwise take it in)."""
        selection = self.textCursor()
        if (selection.anchor(), selection.position()) == (anchor, position):
            return
        end = self.document().characterCount() - 1
        selection.setPosition(min(anchor, end))
        selection.setPosition(min(position, end), QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(selection)

    # ---- links ----

    def _on_anchor_clicked(self, url: QUrl) -> None:
        scheme = url.scheme().lower()
        if scheme == COPY_SCHEME:
            self.copy_code(url.path())
        elif scheme == CITATION_SCHEME and url.path().isdigit():
            self.citation_clicked.emit(int(url.path()))
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

    def set_text_width(self, width: int) -> None:
        """Wraps the text at `width` pixels (a no-op if it already is): the owner says so
        before the view is placed, so that the text is laid out once, at the width it gets."""
        if width > 0 and width != self.lineWrapColumnOrWidth():
            self.setLineWrapColumnOrWidth(width)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.set_text_width(self.viewport().width())
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:
        # As wide as the text is wrapped: a layout that asks for the height at the hinted
        # width then finds it without laying the text out again.
        return QSize(self._frame_width() + self.lineWrapColumnOrWidth(), self._height())

    def heightForWidth(self, width: int) -> int:
        if not self.isVisible():
            # Not placed yet: the text is laid out at the width it is going to get.
            self.set_text_width(width - self._frame_width())
        # Placed: the height at its own width, which its resize events keep the text wrapped
        # at (a layout trying other widths, as a scroll area deciding on its scroll bar does,
        # must not wrap the text at them; when the view does get another width, the text is
        # laid out again and the layout asked again).
        return self._height()

    def _frame_width(self) -> int:
        margins = self.contentsMargins()
        viewport = self.viewportMargins()
        return margins.left() + margins.right() + viewport.left() + viewport.right()

    def _height(self) -> int:
        margins = self.contentsMargins()
        viewport = self.viewportMargins()
        height = (
            math.ceil(self.document().size().height())
            + margins.top()
            + margins.bottom()
            + viewport.top()
            + viewport.bottom()
        )
        if self.document().size().width() > self.lineWrapColumnOrWidth():
            # Wider than the view (a code line does not wrap): a scroll bar under it, there
            # or to come (not whether it shows now, while the view may be narrower for a
            # moment before it is placed).
            height += self.horizontalScrollBar().sizeHint().height()
        return height

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
                self._show(streaming=False)
