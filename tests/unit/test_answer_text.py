"""Generated tokens into answer text: UTF-8 decoded across token boundaries, and stop strings
kept out of the answer whichever tokens they arrive in."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.engine.answer_text import AnswerText, Piece

# Any text a model can write: every code point UTF-8 can carry, multi-byte ones included.
TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
# Mostly characters of 2, 3 and 4 bytes, so that tokens often split a character.
WIDE = st.text(st.sampled_from("aé€𝄞 \n<|>"), max_size=40)


@dataclass(frozen=True)
class Tokens:
    """`text` as token bytes: `ends[i]` is where token i ends in the UTF-8 bytes. Two equal
    ends make a token of no bytes (a control token, which writes nothing)."""

    text: str
    ends: tuple[int, ...]

    @property
    def data(self) -> bytes:
        return self.text.encode()

    def token(self, i: int) -> bytes:
        return self.data[self.start(i) : self.ends[i]]

    def start(self, i: int) -> int:
        return self.ends[i - 1] if i else 0

    def chars_after(self, i: int) -> int:
        """How many characters are whole once token i has arrived."""
        return len(self.data[: self.ends[i]].decode("utf-8", "ignore"))

    def chars_before(self, i: int) -> int:
        return self.chars_after(i - 1) if i else 0


@st.composite
def tokens_of(draw: st.DrawFn, text: st.SearchStrategy[str]) -> Tokens:
    written = draw(text)
    size = len(written.encode())
    cuts = draw(st.lists(st.integers(0, size), max_size=12))
    return Tokens(written, (*sorted(cuts), size))


@st.composite
def tokens_and_stops(draw: st.DrawFn) -> tuple[Tokens, list[str]]:
    tokens = draw(tokens_of(draw(st.sampled_from([TEXT, WIDE]))))
    text = tokens.text
    # Stop strings taken from the text itself (so that they occur) and made up (so that
    # they mostly do not), of every length, some of them overlapping.
    taken = st.tuples(st.integers(0, len(text)), st.integers(1, 6)).map(
        lambda span: text[span[0] : span[0] + span[1]]
    )
    stops = draw(st.lists(st.one_of(taken, WIDE.filter(bool), TEXT), max_size=4))
    return tokens, stops


def feed(tokens: Tokens, stop: list[str]) -> tuple[list[Piece[int]], AnswerText[int]]:
    """Every token in, as the engine does, until a stop string is met; the pieces released."""
    answer: AnswerText[int] = AnswerText(stop)
    pieces: list[Piece[int]] = []
    for i in range(len(tokens.ends)):
        pieces += answer.add(tokens.token(i), i)
        if answer.stopped:
            break
    pieces += answer.finish()
    return pieces, answer


def expected_end(tokens: Tokens, stop: list[str]) -> tuple[int, int] | None:
    """Where the answer ends, as (character, token): after each token the text so far is
    searched for the stop strings; at the first token that completes one, the answer ends
    where the earliest of them starts. None: no stop string occurs."""
    for i in range(len(tokens.ends)):
        so_far = tokens.text[: tokens.chars_after(i)]
        found = [so_far.find(s) for s in stop if s and s in so_far]
        if found:
            return min(found), i
    return None


ANY_TEXT = st.one_of(TEXT, WIDE)


@settings(deadline=None, max_examples=400)
@given(tokens_of(ANY_TEXT))
def test_without_stop_strings_the_answer_is_the_whole_text_token_by_token(tokens: Tokens) -> None:
    pieces, answer = feed(tokens, [])
    assert "".join(p.text for p in pieces) == tokens.text
    assert not answer.stopped
    # Every token once, in order, each with the characters that it completed: a character
    # split across tokens belongs to the token that brought its last byte.
    assert [p.payload for p in pieces] == list(range(len(tokens.ends)))
    for piece in pieces:
        i = piece.payload
        assert piece.text == tokens.text[tokens.chars_before(i) : tokens.chars_after(i)]


@settings(deadline=None, max_examples=400)
@given(WIDE, st.data())
def test_one_stop_string_cuts_the_answer_where_it_first_occurs(
    text: str, data: st.DataObject
) -> None:
    tokens = data.draw(tokens_of(st.just(text)))
    start = data.draw(st.integers(0, len(text)))
    stop = data.draw(st.one_of(st.just(text[start : start + 3]), WIDE)) or "<|>"
    pieces, answer = feed(tokens, [stop])
    released = "".join(p.text for p in pieces)
    if stop in text:
        assert released == text[: text.find(stop)]
        assert answer.stopped
    else:
        assert released == text
        assert not answer.stopped
    assert stop not in released


@settings(deadline=None, max_examples=600)
@given(tokens_and_stops())
def test_stop_strings_never_reach_the_answer_and_the_pieces_keep_their_tokens(
    case: tuple[Tokens, list[str]],
) -> None:
    tokens, stop = case
    pieces, answer = feed(tokens, stop)
    end = expected_end(tokens, stop)
    released = "".join(p.text for p in pieces)
    if end is None:
        assert released == tokens.text and not answer.stopped
        assert [p.payload for p in pieces] == list(range(len(tokens.ends)))
        return
    cut, last = end
    assert released == tokens.text[:cut] and answer.stopped
    assert answer.add(b"more", 99) == []  # nothing is taken after a stop string
    # The tokens released: in order, each once, those up to the one that completed the stop
    # string that begin before it; a token of no bytes right where it starts comes before
    # it too. A token made only of the stop string's bytes is not part of the answer.
    cut_byte = len(tokens.text[:cut].encode())
    kept = [
        i
        for i in range(last + 1)
        if tokens.start(i) < cut_byte or tokens.start(i) == tokens.ends[i] == cut_byte
    ]
    assert [p.payload for p in pieces] == kept
    # Each with the characters it completed; the last one possibly cut at the stop string.
    for piece in pieces:
        i = piece.payload
        first, after = tokens.chars_before(i), tokens.chars_after(i)
        assert piece.text == tokens.text[min(first, cut) : min(after, cut)]


def test_a_character_split_over_three_tokens_arrives_whole_with_the_last_one() -> None:
    answer: AnswerText[str] = AnswerText([])
    clef = "𝄞".encode()  # four bytes
    assert answer.add(clef[:1], "a") == []
    assert answer.add(clef[1:3], "b") == []
    assert answer.add(clef[3:] + b"!", "c") == [Piece("", "a"), Piece("", "b"), Piece("𝄞!", "c")]
    assert answer.finish() == []


def test_a_stop_string_split_over_tokens_is_held_back_and_then_dropped() -> None:
    answer: AnswerText[int] = AnswerText(["<|im_end|>"])
    assert answer.add(b"Hello ", 0) == [Piece("Hello ", 0)]
    assert answer.add(b"<|", 1) == []
    assert answer.add(b"im_", 2) == []
    assert answer.add(b"end|> and more", 3) == []
    assert answer.stopped
    assert answer.finish() == []


def test_text_held_back_that_was_no_stop_string_after_all_is_released_at_the_end() -> None:
    answer: AnswerText[int] = AnswerText(["STOP"])
    assert answer.add(b"a ", 0) == [Piece("a ", 0)]
    assert answer.add(b"ST", 1) == []
    assert answer.add(b"O", 2) == []
    assert answer.finish() == [Piece("ST", 1), Piece("O", 2)]


def test_a_token_made_only_of_a_stop_strings_first_bytes_is_not_part_of_the_answer() -> None:
    # "é" is the stop string; its two bytes come in two tokens.
    answer: AnswerText[int] = AnswerText(["é"])
    assert answer.add(b"ab", 0) == [Piece("ab", 0)]
    assert answer.add("é".encode()[:1], 1) == []
    assert answer.add("é".encode()[1:] + b"cd", 2) == []
    assert answer.stopped


def test_an_unfinished_character_at_the_end_shows_as_a_replacement_character() -> None:
    answer: AnswerText[int] = AnswerText(["zz"])
    assert answer.add(b"z", 0) == []
    assert answer.add("€".encode()[:2], 1) == []
    assert "".join(p.text for p in answer.finish()) == "z\ufffd"
