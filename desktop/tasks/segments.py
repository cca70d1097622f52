"""Cutting a document into the pieces the translator sends one by one, and putting the
translated pieces back together with the document's Markdown structure intact.

Each top-level Markdown block is one segment (a paragraph, heading, blockquote, table, code
block...), except a list, which gives one segment per top-level item. The markup in front of
a block ("## ", "- ", "3. ", "> ") stays out of the text sent to the model and is put back
around the translation. Code, HTML, thematic breaks and link definitions are copied through
untranslated.

Exactness: joined, `source + separator` of every segment gives the document back character
for character, except for blank lines before its first block, which are dropped (a document
of only blank lines gives no segments). `assemble(segments, [None] * len(segments))` gives
the same text, and so does `assemble(segments, [s.text for s in segments])` when the
document uses one kind of line ending throughout.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Where markdown-it ends a line (it normalizes exactly these to "\n" before parsing), so our
# line numbers agree with its `token.map`.
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
UNTRANSLATED_BLOCKS = frozenset({"fence", "code_block", "html_block", "hr"})
BULLET_MARKERS = ("-", "*", "+")
MAX_SPACES_AFTER_MARKER = 4  # with five or more, the item starts with indented code


@dataclass(frozen=True)
class Segment:
    source: (
        str  # the block exactly as in the document, without the line break and blank lines after it
    )
    prefix: str  # markup kept verbatim in front of the translation: "## ", "- ", "1. ", "> ", ""
    text: str  # what the model translates: the source without prefix, suffix and continuation
    translatable: bool  # False for code, HTML, thematic breaks, link definitions, empty blocks
    separator: str  # what follows the block up to the next one: "\n\n" usually
    suffix: str = ""  # markup kept verbatim after the translation: a setext underline, "  ##"
    continuation: str = ""  # in front of each later line: "> " in a quote, "   " in a list item


@dataclass(frozen=True)
class _Line:
    body: str
    ending: str  # "\n", "\r\n", "\r" or "" (the last line without one)

    @property
    def blank(self) -> bool:  # as CommonMark counts it: spaces and tabs only
        return not self.body.strip(" \t")


def split_into_segments(document: str, *, plain_text: bool = False) -> list[Segment]:
    """The document's segments in order. With `plain_text`, no Markdown is read: every run of
    lines between blank lines is one paragraph (an indented plain-text paragraph is not code)."""
    lines = [_split_ending(match.group()) for match in LINE.finditer(document)]
    blocks = _paragraph_blocks(lines) if plain_text else _markdown_blocks(document, lines)
    segments = []
    for index, (start, end, kind, token) in enumerate(blocks):
        next_start = blocks[index + 1][0] if index + 1 < len(blocks) else len(lines)
        block_lines = lines[start:end]
        source = "".join(line.body + line.ending for line in block_lines[:-1])
        source += block_lines[-1].body
        separator = block_lines[-1].ending
        separator += "".join(line.body + line.ending for line in lines[end:next_start])
        segments.append(
            _segment(source, separator, [line.body for line in block_lines], kind, token)
        )
    return segments


def assemble(segments: Sequence[Segment], translations: Sequence[str | None]) -> str:
    """The translated document: each segment's markup around its translation (its source where
    the translation is None or the segment is not translated), then its separator."""
    if len(segments) != len(translations):
        raise ValueError("one translation (or None) per segment")
    parts = []
    for segment, translation in zip(segments, translations, strict=True):
        if translation is None or not segment.translatable:
            parts.append(segment.source)
        else:
            parts.append(_render(segment, translation))
        parts.append(segment.separator)
    return "".join(parts)


def _render(segment: Segment, translation: str) -> str:
    return _wrap(
        segment.prefix, translation, segment.suffix, segment.continuation, _newline(segment)
    )


def _wrap(prefix: str, text: str, suffix: str, continuation: str, newline: str) -> str:
    first, *later = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blank_continuation = continuation.rstrip(" \t")  # ">" keeps a blank line inside a quote
    rendered = [first] + [continuation + line if line else blank_continuation for line in later]
    return prefix + newline.join(rendered) + suffix.replace("\n", newline)


def _newline(segment: Segment) -> str:
    """The line ending the document uses around this segment."""
    around = segment.source + segment.separator
    at = min((i for i in (around.find("\r"), around.find("\n")) if i >= 0), default=-1)
    if at < 0 or around[at] == "\n":
        return "\n"
    return "\r\n" if around[at : at + 2] == "\r\n" else "\r"


def _split_ending(line: str) -> _Line:
    body = line.rstrip("\r\n")
    return _Line(body, line[len(body) :])


# A block: its first line, the line after its last (trailing blank lines left out), what kind
# of block it is (a markdown-it token type, "list_item" or "other") and its opening token.
_Block = tuple[int, int, str, Token | None]


def _paragraph_blocks(lines: list[_Line]) -> list[_Block]:
    blocks: list[_Block] = []
    start: int | None = None
    for number, line in enumerate([*lines, _Line("", "")]):
        if not line.blank and start is None:
            start = number
        elif line.blank and start is not None:
            blocks.append((start, number, "paragraph_open", None))
            start = None
    return blocks


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def _markdown_blocks(document: str, lines: list[_Line]) -> list[_Block]:
    found: list[_Block] = []
    for token in _parser().parse(document):
        if token.map is None or token.nesting == -1:
            continue
        if token.level == 0 and token.type not in ("bullet_list_open", "ordered_list_open"):
            found.append((token.map[0], token.map[1], token.type, token))
        elif token.level == 1 and token.type == "list_item_open":
            found.append((token.map[0], token.map[1], "list_item", token))
    blocks: list[_Block] = []
    covered = 0  # lines before this belong to a block already
    for start, end, kind, opening in found:
        blocks.extend(_uncovered_blocks(lines, covered, start))
        end = _without_trailing_blank_lines(lines, start, min(end, len(lines)))
        blocks.append((start, end, kind, opening))
        covered = max(covered, end)
    blocks.extend(_uncovered_blocks(lines, covered, len(lines)))
    return blocks


def _uncovered_blocks(lines: list[_Line], start: int, end: int) -> list[_Block]:
    """Lines no token accounts for (link reference definitions): copied as they are."""
    runs = _paragraph_blocks(lines[start:end])
    return [(start + first, start + last, "other", None) for first, last, _, _ in runs]


def _without_trailing_blank_lines(lines: list[_Line], start: int, end: int) -> int:
    while end > start + 1 and lines[end - 1].blank:
        end -= 1
    return end


def _segment(
    source: str, separator: str, bodies: list[str], kind: str, token: Token | None
) -> Segment:
    if kind in UNTRANSLATED_BLOCKS or kind == "other":
        return Segment(source, "", "\n".join(bodies), False, separator)
    prefix, text, suffix, continuation = _markup(bodies, kind, token)
    newline = _newline(Segment(source, "", "", True, separator))
    if _wrap(prefix, text, suffix, continuation, newline) != source:
        # Markup we cannot take off and put back exactly (a lazy line in a quote, tabs, mixed
        # line endings): the model gets the block whole, markup and all.
        prefix, text, suffix, continuation = "", "\n".join(bodies), "", ""
    translatable = bool(text.strip())
    return Segment(source, prefix, text, translatable, separator, suffix, continuation)


def _markup(bodies: list[str], kind: str, token: Token | None) -> tuple[str, str, str, str]:
    """(prefix, text, suffix, continuation) of a block given by the bodies of its lines."""
    whole = "\n".join(bodies)
    if token is None:
        return "", whole, "", ""
    if kind == "heading_open" and token.markup.startswith("#"):
        return _atx_heading(bodies[0], token.markup)
    if kind == "heading_open":  # setext: the underline is the last line
        return "", "\n".join(bodies[:-1]), "\n" + bodies[-1], ""
    if kind == "blockquote_open":
        return _quote(bodies)
    if kind == "list_item":
        return _list_item(bodies, token)
    return "", whole, "", ""  # paragraph, table


def _atx_heading(line: str, hashes: str) -> tuple[str, str, str, str]:
    """'## Title ##' -> ('## ', 'Title', ' ##', '')."""
    lead = len(line) - len(line.lstrip(" "))
    after_hashes = lead + len(hashes)
    rest = line[after_hashes:]
    prefix = line[: after_hashes + len(rest) - len(rest.lstrip(" \t"))]
    body = line[len(prefix) :].rstrip(" \t")
    content = body.rstrip("#")
    if content != body and content and content[-1] not in " \t":
        content = body  # "C#": the hash is part of the title, not a closing sequence
    content = content.rstrip(" \t")
    return prefix, content, line[len(prefix) + len(content) :], ""


def _quote(bodies: list[str]) -> tuple[str, str, str, str]:
    first = bodies[0]
    marker_end = len(first) - len(first.lstrip(" ")) + 1  # after the ">"
    if first[marker_end : marker_end + 1] == " ":
        marker_end += 1
    continuation = first[:marker_end]
    return continuation, _unindented(bodies, marker_end, continuation), "", continuation


def _list_item(bodies: list[str], token: Token) -> tuple[str, str, str, str]:
    first = bodies[0]
    lead = len(first) - len(first.lstrip(" "))
    marker = token.markup if token.markup in BULLET_MARKERS else token.info + token.markup
    marker_end = lead + len(marker)
    spaces = len(first[marker_end:]) - len(first[marker_end:].lstrip(" "))
    if spaces > MAX_SPACES_AFTER_MARKER or marker_end + spaces == len(first):
        spaces = min(spaces, 1)  # the content is indented code, or starts on the next line
    content_start = marker_end + spaces
    continuation = " " * (marker_end + max(spaces, 1))
    return first[:content_start], _unindented(bodies, content_start, continuation), "", continuation


def _unindented(bodies: list[str], first_start: int, continuation: str) -> str:
    """The block's text with its first line's markup and the later lines' indentation (or
    quote marks) taken off; a line without them is kept whole (the check in `_segment` then
    falls back to sending the block as it is)."""
    blank_continuation = continuation.rstrip(" \t")
    later = []
    for body in bodies[1:]:
        if body.startswith(continuation):
            later.append(body[len(continuation) :])
        elif body == blank_continuation:
            later.append("")
        else:
            later.append(body)
    return "\n".join([bodies[0][first_start:], *later])
