"""Generated tokens into answer text: bytes decoded as UTF-8 across token boundaries (a
character may span tokens), and text held back while it could be the start of a stop
string, so that a stop string never reaches the user. Pure Python; the engine feeds it."""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Piece(Generic[T]):
    """What one token added to the answer (possibly cut at a stop string), and its payload."""

    text: str
    payload: T


class AnswerText(Generic[T]):
    def __init__(self, stop: Sequence[str]) -> None:
        self._stop = [s for s in stop if s]
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        # Each held piece, and whether it is inside a character not yet whole: a token of
        # no text whose bytes are the start of a later character (released with it).
        self._held: list[tuple[Piece[T], bool]] = []
        self.stopped = False  # a stop string was met; nothing more is taken

    def add(self, data: bytes, payload: T) -> list[Piece[T]]:
        """Take one token's bytes; return the pieces that are now certain to be answer."""
        if self.stopped:
            return []
        text = self._decoder.decode(data)
        inside = not text and bool(self._decoder.getstate()[0])
        self._held.append((Piece(text, payload), inside))
        held_text = "".join(piece.text for piece, _ in self._held)
        found = [i for i in (held_text.find(s) for s in self._stop) if i >= 0]
        if found:
            self.stopped = True
            return self._release(min(found), cut=True)
        return self._release(len(held_text) - self._stop_prefix_length(held_text), cut=False)

    def finish(self) -> list[Piece[T]]:
        """The answer ended: whatever is held is answer after all."""
        if self.stopped or not self._held:
            return []
        tail = self._decoder.decode(b"", final=True)  # an incomplete character, as U+FFFD
        last, _ = self._held[-1]
        self._held[-1] = (Piece(last.text + tail, last.payload), False)
        released = [piece for piece, _ in self._held]
        self._held.clear()
        return released

    def _stop_prefix_length(self, text: str) -> int:
        """The length of the longest end of `text` that some stop string starts with."""
        longest = 0
        for stop in self._stop:
            for n in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:n]):
                    longest = n
                    break
        return longest

    def _release(self, chars: int, *, cut: bool) -> list[Piece[T]]:
        """Release the held pieces within the first `chars` characters. With `cut`, the
        piece across that point is cut there and everything after it is dropped."""
        released: list[Piece[T]] = []
        while self._held:
            piece, inside = self._held[0]
            # A piece inside a character goes with that character: the next one released.
            if len(piece.text) > chars or (inside and chars == 0):
                break
            self._held.pop(0)
            chars -= len(piece.text)
            released.append(piece)
        if cut:
            if self._held and chars > 0:
                piece, _ = self._held[0]
                released.append(Piece(piece.text[:chars], piece.payload))
            self._held.clear()
        return released
