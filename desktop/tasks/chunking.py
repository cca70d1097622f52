"""Cutting a long text into pieces a model can take: consecutive, covering every character of
the source (nothing is dropped), each at most a number of tokens as the model's own tokenizer
counts them. Cuts fall between paragraphs where they can, else between sentences, else
between words; a single word longer than a piece (a long URL, say) is cut where it must be.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

CountTokens = Callable[[str], int]

# Where a piece may end, from the best place to the worst: after a blank line, after a
# sentence's end (western and CJK punctuation), after a space.
PARAGRAPH_END = re.compile(r"\n\s*\n\s*")
# Closing quotes and brackets may follow the mark; CJK text needs no space after it.
_ENDS = ".!?\u2026"  # ... and the ellipsis
_CJK_ENDS = "\u3002\uff01\uff1f"  # ideographic full stop, fullwidth ! and ?
_CLOSERS = "\"')\\]\u201d\u2019"
SENTENCE_END = re.compile(f"(?<=[{_ENDS}{_CJK_ENDS}])[{_CLOSERS}]*\\s+|(?<=[{_CJK_ENDS}])")
WORD_END = re.compile(r"\s+")
LEVELS = (PARAGRAPH_END, SENTENCE_END, WORD_END)


@dataclass(frozen=True)
class Chunk:
    start: int  # where it begins in the source text
    end: int  # where the next begins
    text: str
    tokens: int


def split_into_chunks(text: str, max_tokens: int, count_tokens: CountTokens) -> list[Chunk]:
    """`text` in consecutive chunks of at most `max_tokens` tokens each; joined, they give the
    text back exactly."""
    if max_tokens < 1:
        raise ValueError("a chunk must hold at least one token")
    chunks: list[Chunk] = []
    start = 0
    pending: list[tuple[str, int]] = []  # pieces of the chunk being filled, with their tokens
    for piece in _pieces(text, max_tokens, count_tokens, 0):
        tokens = count_tokens(piece)
        while pending and sum(t for _, t in pending) + tokens > max_tokens:
            start, pending = _close(chunks, start, pending, max_tokens, count_tokens)
        pending.append((piece, tokens))
    while pending:
        start, pending = _close(chunks, start, pending, max_tokens, count_tokens)
    return chunks


def _close(
    chunks: list[Chunk],
    start: int,
    pending: list[tuple[str, int]],
    max_tokens: int,
    count_tokens: CountTokens,
) -> tuple[int, list[tuple[str, int]]]:
    """A chunk of the longest run of pending pieces that fits, counted whole (tokens are not
    quite additive: a tokenizer may merge across a join); the pieces left over wait for the
    next chunk."""
    keep = len(pending)
    text = "".join(piece for piece, _ in pending)
    tokens = count_tokens(text)
    while tokens > max_tokens and keep > 1:
        keep -= 1
        text = "".join(piece for piece, _ in pending[:keep])
        tokens = count_tokens(text)
    chunks.append(Chunk(start, start + len(text), text, tokens))
    return start + len(text), pending[keep:]


def _pieces(text: str, max_tokens: int, count_tokens: CountTokens, level: int) -> Iterator[str]:
    """The text cut at the boundaries of `level` (each piece keeps the separator after it);
    a piece over `max_tokens` is cut again at the next level down."""
    if level == len(LEVELS):
        yield from _cut_anywhere(text, max_tokens, count_tokens)
        return
    for piece in split_after(text, LEVELS[level]):
        if count_tokens(piece) <= max_tokens:
            yield piece
        else:
            yield from _pieces(piece, max_tokens, count_tokens, level + 1)


def split_after(text: str, boundary: re.Pattern[str]) -> list[str]:
    """`text` cut after each match of `boundary`, the separator kept at the end of its piece:
    joined, the pieces give the text back."""
    pieces, start = [], 0
    for match in boundary.finditer(text):
        if match.end() > start:
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _cut_anywhere(text: str, max_tokens: int, count_tokens: CountTokens) -> Iterator[str]:
    """Longest prefixes that fit, found by bisection (one character always fits the caller's
    promise of at least one token per chunk, if the tokenizer gives a character one token)."""
    while text:
        low, high = 1, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if count_tokens(text[:middle]) <= max_tokens:
                low = middle
            else:
                high = middle - 1
        yield text[:low]
        text = text[low:]
