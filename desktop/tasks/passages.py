"""Cutting a document into the passages a library indexes and retrieval returns: each small
enough for the embedder (at most `max_tokens` by its own tokenizer), each saying where it
comes from (its page in a PDF, the path of headings it falls under).

Passages cover the whole text (nothing is dropped) and each is exactly `text[start:end]`.
A heading of level 2 or above (a chapter, a section) starts a new passage, so that a
passage is about one thing, and so does a PDF's page, so that a passage cites one page;
inside a section, passages are cut between paragraphs where a good share of the budget is
used, else between sentences, else between words (a word longer
than a passage, a long URL say, is cut where it must be), and each passage but a section's
first repeats the last sentences of the one before, up to `overlap_tokens`, so that what is
said across a cut is found whole in one of them.

Counting is the costly part (each `count_tokens` call is a round trip to the engine), so
every sentence is counted once, all in one call, and a passage's count is the sum of its
sentences': WordPiece tokenizers (BERT embedders) split on whitespace first, so counts add
up; a margin covers the special tokens around a passage and tokenizers that merge across a
join. Only a sentence too long for a passage is counted again, cut into words (a second call).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from desktop.tasks.chunking import PARAGRAPH_END, SENTENCE_END, WORD_END, split_after
from desktop.tasks.documents import Document, Heading

CountTokens = Callable[[Sequence[str]], list[int]]

SECTION_LEVEL = 2  # a heading of this level or above (a title, a chapter) starts a passage
# Kept free in every passage: its special tokens ([CLS], [SEP]) and what a tokenizer that
# is not quite additive adds where sentences join.
MARGIN_SHARE = 0.05
MIN_MARGIN = 2
# A passage cut at a paragraph's end rather than mid-paragraph when it is at least this full.
PARAGRAPH_CUT_SHARE = 0.5
HEADING_PATH_SEPARATOR = " > "
# A heading's line, a setext underline after it ("Title\n====="), and the whitespace after.
HEADING_LINE = re.compile(r"[^\n]*(?:\n[ \t]*(?:=+|-+)[ \t]*(?=\n|\Z))?\s*")


@dataclass(frozen=True)
class Passage:
    start: int  # where it begins in the document's text
    end: int  # where it ends (the next passage may begin before, repeating the overlap)
    text: str  # the document's text[start:end]
    page: int | None  # the page it begins on, from 1 (PDF); None without pages
    heading: str  # the headings it falls under, "Install > On Linux"; "" before any


@dataclass
class _Piece:
    """The smallest unit a passage is made of: a sentence, or a word of a long one, with
    the whitespace after it."""

    start: int
    end: int
    ends_paragraph: bool
    tokens: int = 0


def split_into_passages(
    document: Document, count_tokens: CountTokens, *, max_tokens: int, overlap_tokens: int
) -> list[Passage]:
    """The document's passages, in order; none for a document of only whitespace.
    `count_tokens` counts many texts at once (the embedder's tokenizer, without special
    tokens or with them: more only makes passages shorter)."""
    if max_tokens < 1:
        raise ValueError("a passage must hold at least one token")
    text = document.text
    margin = min(max(MIN_MARGIN, math.ceil(max_tokens * MARGIN_SHARE)), max_tokens - 1)
    budget = max_tokens - margin
    cuts = sorted(_heading_lines(text, document.headings))
    sections = [
        _sentences(text, start, end, cuts)
        for start, end in _sections(text, document.headings, document.pages)
    ]
    _count(text, sections, count_tokens, budget)
    heading_starts = {heading.start for heading in document.headings}
    spans = [
        span
        for section in sections
        for span in _packed(
            _joined_whitespace(text, section), budget, overlap_tokens, heading_starts
        )
    ]
    titles = _HeadingPaths(document.headings)
    passages = []
    for pieces in spans:
        start, end = pieces[0].start, pieces[-1].end
        # Headings a passage opens with are the ones it falls under ("# Guide", "## Install",
        # then the text): the path at its first piece that is not a heading's beginning.
        body = next((p.start for p in pieces if p.start not in heading_starts), pieces[-1].start)
        page = max(1, bisect.bisect_right(document.pages, start)) if document.pages else None
        passages.append(Passage(start, end, text[start:end], page, titles.at(body)))
    return passages


def _sections(
    text: str, headings: Sequence[Heading], pages: Sequence[int]
) -> list[tuple[int, int]]:
    """The text cut where a heading of SECTION_LEVEL or above or a page begins. A section of only
    headings (a chapter's title right before its first section's) or of only whitespace
    goes with the section after it."""
    starts = {heading.start for heading in headings}
    cuts = sorted(
        {h.start for h in headings if h.level <= SECTION_LEVEL and 0 < h.start < len(text)}
        | {page for page in pages if 0 < page < len(text)}
    )
    sections: list[tuple[int, int]] = []
    start = 0
    for cut in cuts:
        if _has_body(text, start, cut, starts):
            sections.append((start, cut))
            start = cut
    sections.append((start, len(text)))
    return sections


def _has_body(text: str, start: int, end: int, heading_starts: set[int]) -> bool:
    """Whether text[start:end] has more than whitespace after the headings it opens with
    (each its paragraph)."""
    while start < end and start in heading_starts:
        start = HEADING_LINE.match(text, start, end).end()  # type: ignore[union-attr]
    return bool(text[start:end].strip())


def _heading_lines(text: str, headings: Sequence[Heading]) -> set[int]:
    """Where each heading's line begins and ends: a heading is a piece of its own."""
    cuts = set()
    for heading in headings:
        if 0 <= heading.start < len(text):
            cuts.add(heading.start)
            cuts.add(text.find("\n", heading.start) + 1 or len(text))
    return cuts


def _sentences(text: str, start: int, end: int, cuts: list[int]) -> list[_Piece]:
    """text[start:end] in sentences (a heading's line one of them), each with the
    whitespace after it."""
    pieces = []
    for paragraph in split_after(text[start:end], PARAGRAPH_END):
        stop = start + len(paragraph)
        inside = cuts[bisect.bisect_right(cuts, start) : bisect.bisect_left(cuts, stop)]
        for block_start, block_end in zip([start, *inside], [*inside, stop], strict=True):
            at = block_start
            for sentence in split_after(text[block_start:block_end], SENTENCE_END):
                pieces.append(_Piece(at, at + len(sentence), ends_paragraph=False))
                at += len(sentence)
        pieces[-1].ends_paragraph = True
        start = stop
    return pieces


def _count(text: str, sections: list[list[_Piece]], count_tokens: CountTokens, budget: int) -> None:
    """Set each piece's tokens, one call for all; a piece over `budget` is cut in place (into
    words, else into slices of characters) and only its parts are counted again, together."""
    uncounted = [piece for pieces in sections for piece in pieces]
    while uncounted:
        counts = count_tokens([text[p.start : p.end] for p in uncounted])
        for piece, tokens in zip(uncounted, counts, strict=True):
            piece.tokens = tokens
        parts = {
            id(p): _cut(text, p, budget)
            for p in uncounted
            if p.tokens > budget and p.end - p.start > 1
        }
        if not parts:
            return
        for pieces in sections:
            pieces[:] = [part for piece in pieces for part in parts.get(id(piece), [piece])]
        uncounted = [part for cut in parts.values() for part in cut]


def _cut(text: str, piece: _Piece, budget: int) -> list[_Piece]:
    """A piece too long for a passage in smaller ones: its words, else slices of about half
    a passage's worth of characters by its count (tokens are not spread evenly: half leaves
    room, so that the slices are seldom cut again)."""
    words = split_after(text[piece.start : piece.end], WORD_END)
    if len(words) > 1:
        lengths = [len(word) for word in words]
    else:
        size = max(
            1,
            min(
                piece.end - piece.start - 1,
                (piece.end - piece.start) * budget // (2 * piece.tokens),
            ),
        )
        lengths = [size] * ((piece.end - piece.start) // size)
        if (piece.end - piece.start) % size:
            lengths.append((piece.end - piece.start) % size)
    parts, start = [], piece.start
    for length in lengths:
        parts.append(_Piece(start, start + length, ends_paragraph=False))
        start += length
    parts[-1].ends_paragraph = piece.ends_paragraph
    return parts


def _joined_whitespace(text: str, pieces: list[_Piece]) -> list[_Piece]:
    """The pieces with any of only whitespace joined to the piece before (the first such to
    the piece after): no passage is whitespace alone."""
    joined: list[_Piece] = []
    leading: _Piece | None = None
    for piece in pieces:
        if not text[piece.start : piece.end].strip():
            if joined:
                joined[-1].end, joined[-1].tokens = piece.end, joined[-1].tokens + piece.tokens
                joined[-1].ends_paragraph = joined[-1].ends_paragraph or piece.ends_paragraph
            elif leading is None:
                leading = piece
            else:
                leading.end, leading.tokens = piece.end, leading.tokens + piece.tokens
            continue
        if leading is not None:
            piece.start, piece.tokens = leading.start, piece.tokens + leading.tokens
            leading = None
        joined.append(piece)
    return joined


def _packed(
    pieces: list[_Piece], budget: int, overlap_tokens: int, heading_starts: set[int]
) -> list[list[_Piece]]:
    """A section's pieces in passages of at most `budget` tokens, each after the first
    opening with the last pieces of the one before, up to `overlap_tokens`. A passage does
    not end with a heading, and an overlap does not reach back past one: a heading opens
    the passage that holds what it is the heading of."""
    passages = []
    first = fresh = 0  # the passage's first piece, and its first not in the one before
    while first < len(pieces):
        end, total = first, 0
        while end < len(pieces) and (end == first or total + pieces[end].tokens <= budget):
            total += pieces[end].tokens
            end += 1
        if end < len(pieces):
            end = _paragraph_cut(pieces, first, fresh, end, budget)
            while end - 1 > fresh and pieces[end - 1].start in heading_starts:
                end -= 1
        passages.append(pieces[first:end])
        if end == len(pieces):
            break
        following, overlap = end, 0
        while (
            following - 1 > first
            and pieces[following].start not in heading_starts
            and overlap + pieces[following - 1].tokens <= overlap_tokens
        ):
            following -= 1
            overlap += pieces[following].tokens
        # The next passage takes at least one new piece, whatever the overlap.
        while following < end and overlap + pieces[end].tokens > budget:
            overlap -= pieces[following].tokens
            following += 1
        first, fresh = following, end
    return passages


def _paragraph_cut(pieces: list[_Piece], first: int, fresh: int, end: int, budget: int) -> int:
    """Where a full passage of pieces[first:end] ends: after the last paragraph in it, if
    that leaves it PARAGRAPH_CUT_SHARE full and with a piece from pieces[fresh:], else after
    its last sentence."""
    total = sum(piece.tokens for piece in pieces[first:end])
    for cut in range(end, fresh, -1):
        if total < budget * PARAGRAPH_CUT_SHARE:
            break
        if pieces[cut - 1].ends_paragraph:
            return cut
        total -= pieces[cut - 1].tokens
    return end


class _HeadingPaths:
    """The path of headings in force at any place in the text."""

    def __init__(self, headings: Sequence[Heading]) -> None:
        ordered = sorted(headings, key=lambda heading: heading.start)
        self._starts = [heading.start for heading in ordered]
        self._paths = []
        stack: list[Heading] = []
        for heading in ordered:
            while stack and stack[-1].level >= heading.level:
                stack.pop()
            stack.append(heading)
            self._paths.append(HEADING_PATH_SEPARATOR.join(h.title for h in stack))

    def at(self, offset: int) -> str:
        index = bisect.bisect_right(self._starts, offset)
        return self._paths[index - 1] if index else ""
