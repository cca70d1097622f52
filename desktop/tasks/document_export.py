"""Writing a result (a summary, a translation: Markdown text) out as the bytes of a file the
user saves: Markdown as it is, plain text without the Markdown marks, or a Word document
with real headings, lists, emphasis and tables. A translation can also be written side by
side with its source, as a two-column table.

Both renderers walk markdown-it-py's syntax tree, so what counts as a heading or a list is
decided by the same CommonMark parser everywhere in Lantern.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

ExportFormat = Literal["md", "txt", "docx"]
BilingualFormat = Literal["md", "docx"]

MONOSPACE = "Courier New"  # on every Windows and macOS, and mapped by LibreOffice
THEMATIC_BREAK = "* * *"
QUOTE_INDENT = "    "
LIST_BULLET = "- "
WORD_HEADING_LEVELS = 3  # h4-h6 become Heading 3: deeper levels look alike in Word anyway
WORD_LIST_LEVELS = 3  # Word's built-in list styles go to "List Bullet 3"


def export_document(markdown: str, fmt: ExportFormat, *, title: str | None = None) -> bytes:
    """The file's bytes: "md" the text as it is (UTF-8), "txt" plain text without Markdown
    marks, "docx" a Word document. The title heads the Word document (and is its document
    title); the Markdown and plain text carry their own headings and are left as they are."""
    if fmt == "md":
        return markdown.encode("utf-8")
    if fmt == "txt":
        return plain_text(markdown).encode("utf-8")
    if fmt == "docx":
        document = _new_word_document(title)
        _WordWriter(document).add_blocks(_tree(markdown).children)
        return _saved(document)
    raise ValueError(f"unknown export format: {fmt!r}")


def export_bilingual(
    pairs: Sequence[tuple[str, str]],
    fmt: BilingualFormat,
    *,
    source_language: str,
    target_language: str,
    title: str | None = None,
) -> bytes:
    """Source and translation side by side, one (source, translation) pair a row, under a
    header of the two language names: a Markdown table, or a Word table."""
    if fmt == "md":
        lines = [f"# {title}", ""] if title else []
        lines.append(_table_row(source_language, target_language))
        lines.append("| --- | --- |")
        lines.extend(_table_row(source, translation) for source, translation in pairs)
        return ("\n".join(lines) + "\n").encode("utf-8")
    if fmt == "docx":
        document = _new_word_document(title)
        table = document.add_table(rows=1 + len(pairs), cols=2)
        table.style = "Table Grid"
        header = table.rows[0].cells
        header[0].paragraphs[0].add_run(source_language).bold = True
        header[1].paragraphs[0].add_run(target_language).bold = True
        for row, texts in zip(table.rows[1:], pairs, strict=True):
            for cell, text in zip(row.cells, texts, strict=True):
                _fill_cell_with_plain_text(cell, plain_text(text).rstrip("\n"))
        return _saved(document)
    raise ValueError(f"unknown bilingual export format: {fmt!r}")


def plain_text(markdown: str) -> str:
    """The Markdown as plain text: headings as their text, list items with "- " or "1. ",
    emphasis marks dropped, code kept, links as "text (url)"; blocks apart by a blank line."""
    blocks = [_plain_block(node) for node in _tree(markdown).children]
    text = "\n\n".join(block for block in blocks if block)
    return text + "\n" if text else ""


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _tree(markdown: str) -> SyntaxTreeNode:
    return SyntaxTreeNode(_parser().parse(markdown))


# Plain text


def _plain_block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind in ("paragraph", "heading"):
        return _plain_inline(node.children[0]) if node.children else ""
    if kind in ("bullet_list", "ordered_list"):
        return _plain_list(node)
    if kind == "blockquote":
        quoted = "\n\n".join(_plain_block(child) for child in node.children)
        return "\n".join(QUOTE_INDENT + line if line else line for line in quoted.split("\n"))
    if kind in ("fence", "code_block", "html_block"):
        return node.content.rstrip("\n")
    if kind == "hr":
        return THEMATIC_BREAK
    if kind == "table":
        return _plain_table(node)
    return "\n\n".join(_plain_block(child) for child in node.children)


def _plain_list(node: SyntaxTreeNode) -> str:
    gap = "\n" if _is_tight(node) else "\n\n"
    items = []
    for marker, item in zip(_markers(node), node.children, strict=True):
        body = gap.join(_plain_block(child) for child in item.children)
        indent = " " * len(marker)
        first, *later = body.split("\n")
        items.append(
            "\n".join([marker + first] + [indent + line if line else line for line in later])
        )
    return gap.join(items)


def _markers(node: SyntaxTreeNode) -> list[str]:
    if node.type == "bullet_list":
        return [LIST_BULLET] * len(node.children)
    start = _list_start(node)
    return [f"{start + index}. " for index in range(len(node.children))]


def _list_start(node: SyntaxTreeNode) -> int:
    start = node.attrs.get("start", 1)
    return start if isinstance(start, int) else int(start)


def _is_tight(node: SyntaxTreeNode) -> bool:
    """markdown-it hides the paragraphs of a tight list (items not apart by blank lines)."""
    return all(
        child.hidden
        for item in node.children
        for child in item.children
        if child.type == "paragraph"
    )


def _plain_table(node: SyntaxTreeNode) -> str:
    rows = [
        [
            _plain_inline(cell.children[0]).replace("\n", " ") if cell.children else ""
            for cell in row.children
        ]
        for section in node.children
        for row in section.children
    ]
    columns = max(len(row) for row in rows)
    widths = [max(len(row[c]) if c < len(row) else 0 for row in rows) for c in range(columns)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))  # under the header row
    return "\n".join(lines)


def _plain_inline(node: SyntaxTreeNode) -> str:
    parts = []
    for child in node.children:
        kind = child.type
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif kind == "link":
            parts.append(_with_address(_plain_inline(child), str(child.attrs.get("href", ""))))
        elif kind == "html_inline":
            continue  # a tag: its text, if any, is in the text around it
        else:  # emphasis, strong, strikethrough, an image's alt text
            parts.append(_plain_inline(child))
    return "".join(parts)


def _with_address(text: str, href: str) -> str:
    """'text (url)', or the bare address for an autolink such as <https://example.org>."""
    if not href or href in (text, f"mailto:{text}"):
        return text or href
    return f"{text} ({href})"


# Markdown tables (bilingual export)


def _table_row(left: str, right: str) -> str:
    return f"| {_table_cell(left)} | {_table_cell(right)} |"


def _table_cell(text: str) -> str:
    """One table cell: a "|" would end the cell and a line break the row."""
    lines = text.strip().replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(line.strip().replace("|", "\\|") for line in lines)


# Word


@dataclass(frozen=True)
class _RunFormat:
    bold: bool = False
    italic: bool = False
    strike: bool = False
    code: bool = False


class _WordWriter:
    """Adds the blocks of a Markdown syntax tree to a Word document."""

    def __init__(self, document: Any) -> None:
        self.document = document

    def add_blocks(self, nodes: Sequence[SyntaxTreeNode], *, quote: bool = False) -> None:
        for node in nodes:
            self.add_block(node, quote=quote)

    def add_block(self, node: SyntaxTreeNode, *, quote: bool = False) -> None:
        kind = node.type
        if kind == "heading":
            level = min(int(node.tag[1:]), WORD_HEADING_LEVELS)
            self.add_inline_paragraph(node, f"Heading {level}")
        elif kind == "paragraph":
            self.add_inline_paragraph(node, "Quote" if quote else None)
        elif kind in ("bullet_list", "ordered_list"):
            self.add_list(node, depth=0)
        elif kind == "blockquote":
            self.add_blocks(node.children, quote=True)
        elif kind in ("fence", "code_block"):
            run = self.document.add_paragraph().add_run(node.content.rstrip("\n"))
            run.font.name = MONOSPACE
        elif kind == "html_block":
            self.document.add_paragraph(node.content.strip())
        elif kind == "hr":
            self.document.add_paragraph(THEMATIC_BREAK).alignment = 1  # centred
        elif kind == "table":
            self.add_table(node)
        else:
            self.add_blocks(node.children, quote=quote)

    def add_inline_paragraph(self, node: SyntaxTreeNode, style: str | None) -> Any:
        paragraph = self.document.add_paragraph(style=style)
        if node.children:
            _add_runs(paragraph, node.children[0], _RunFormat())
        return paragraph

    def add_list(self, node: SyntaxTreeNode, *, depth: int) -> None:
        ordered = node.type == "ordered_list"
        suffix = "" if depth == 0 else f" {min(depth + 1, WORD_LIST_LEVELS)}"
        item_style = ("List Number" if ordered else "List Bullet") + suffix
        numbering = (
            _restarted_numbering(self.document, item_style, _list_start(node)) if ordered else None
        )
        for item in node.children:
            first = True
            for child in item.children:
                if child.type in ("bullet_list", "ordered_list"):
                    self.add_list(child, depth=depth + 1)
                    continue
                if child.type == "paragraph":
                    style = item_style if first else "List Continue" + suffix
                    paragraph = self.add_inline_paragraph(child, style)
                    if first and numbering is not None:
                        _number_paragraph(paragraph, numbering)
                else:
                    self.add_block(child)
                first = False
            if first:  # an empty item still shows its bullet or number
                paragraph = self.document.add_paragraph(style=item_style)
                if numbering is not None:
                    _number_paragraph(paragraph, numbering)

    def add_table(self, node: SyntaxTreeNode) -> None:
        rows = [row for section in node.children for row in section.children]
        columns = max(len(row.children) for row in rows)
        table = self.document.add_table(rows=len(rows), cols=columns)
        table.style = "Table Grid"
        for row_node, row in zip(rows, table.rows, strict=True):
            for cell_node, cell in zip(row_node.children, row.cells, strict=False):
                if cell_node.children:
                    header = _RunFormat(bold=cell_node.type == "th")
                    _add_runs(cell.paragraphs[0], cell_node.children[0], header)


def _add_runs(paragraph: Any, node: SyntaxTreeNode, fmt: _RunFormat) -> None:
    for child in node.children:
        kind = child.type
        if kind == "text":
            _add_run(paragraph, child.content, fmt)
        elif kind == "code_inline":
            _add_run(paragraph, child.content, replace(fmt, code=True))
        elif kind == "softbreak":
            _add_run(paragraph, " ", fmt)  # a line break in the source, not in the text
        elif kind == "hardbreak":
            paragraph.add_run().add_break()
        elif kind == "strong":
            _add_runs(paragraph, child, replace(fmt, bold=True))
        elif kind == "em":
            _add_runs(paragraph, child, replace(fmt, italic=True))
        elif kind == "s":
            _add_runs(paragraph, child, replace(fmt, strike=True))
        elif kind == "link":
            href = str(child.attrs.get("href", ""))
            text = _plain_inline(child)
            _add_runs(paragraph, child, fmt)
            if href and href not in (text, f"mailto:{text}"):
                _add_run(paragraph, f" ({href})", fmt)
        elif kind != "html_inline":  # an image: its alt text
            _add_runs(paragraph, child, fmt)


def _add_run(paragraph: Any, text: str, fmt: _RunFormat) -> None:
    if not text:  # markdown-it leaves empty text tokens around emphasis
        return
    run = paragraph.add_run(text)
    if fmt.bold:
        run.bold = True
    if fmt.italic:
        run.italic = True
    if fmt.strike:
        run.font.strike = True
    if fmt.code:
        run.font.name = MONOSPACE


def _restarted_numbering(document: Any, style_name: str, start: int) -> int | None:
    """A new numbering instance for one ordered list, counting from `start`. Word's "List
    Number" style numbers every list in the document as one list (python-docx has no API for
    a restart), so each list gets its own instance of the style's numbering definition."""
    try:
        style_num_id = document.styles[style_name].element.pPr.numPr.numId.val
        numbering = document.part.numbering_part.element
        definition = numbering.num_having_numId(style_num_id).abstractNumId.val
    except (AttributeError, KeyError):  # a template whose list style has no numbering
        return None
    instance = numbering.add_num(definition)
    instance.add_lvlOverride(ilvl=0).add_startOverride(start)
    return int(instance.numId)


def _number_paragraph(paragraph: Any, num_id: int) -> None:
    numbering = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    numbering.get_or_add_ilvl().val = 0
    numbering.get_or_add_numId().val = num_id


def _fill_cell_with_plain_text(cell: Any, text: str) -> None:
    """Paragraphs apart by blank lines become the cell's paragraphs; lines within them
    become line breaks (python-docx turns "\\n" in a run into one)."""
    paragraphs = text.split("\n\n")
    cell.paragraphs[0].add_run(paragraphs[0])
    for paragraph in paragraphs[1:]:
        cell.add_paragraph(paragraph)


def _new_word_document(title: str | None) -> Any:
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
        document.add_heading(title, level=0)
    return document


def _saved(document: Any) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
