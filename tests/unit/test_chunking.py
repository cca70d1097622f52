"""The chunker, with a word-and-punctuation tokenizer standing in for the model's (the engine's
tokenizer is tested with the real model elsewhere): every character of the source lands in
exactly one chunk, no chunk is over its budget, and cuts fall at the best boundary there is."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.tasks.chunking import split_into_chunks

TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    return len(TOKEN.findall(text))


def merging_tokenizer(text: str) -> int:
    """Like the real ones, not additive: a join can cost a token (here: each blank line)."""
    return count_tokens(text) + text.count("\n\n")


def sentence(words: int, mark: str = ".") -> str:
    return " ".join(f"w{n}" for n in range(words)) + mark


def test_paragraphs_that_fit_are_never_cut() -> None:
    paragraphs = [sentence(8), sentence(5) + " " + sentence(4), sentence(9), sentence(3)]
    text = "\n\n".join(paragraphs)
    chunks = split_into_chunks(text, 20, count_tokens)
    assert "".join(c.text for c in chunks) == text
    assert [c.text.strip() for c in chunks] == [
        paragraphs[0] + "\n\n" + paragraphs[1],  # 9 + 11 tokens
        paragraphs[2] + "\n\n" + paragraphs[3],  # 10 + 4
    ]


def test_a_long_paragraph_is_cut_between_sentences_then_words() -> None:
    long_paragraph = " ".join(sentence(6) for _ in range(5))  # 5 sentences of 7 tokens
    chunks = split_into_chunks(long_paragraph, 15, count_tokens)
    assert [c.text.rstrip() for c in chunks] == [sentence(6) + " " + sentence(6)] * 2 + [
        sentence(6)
    ]
    one_long_sentence = sentence(40)
    chunks = split_into_chunks(one_long_sentence, 15, count_tokens)
    assert all(c.tokens <= 15 for c in chunks)
    assert all(c.text.endswith(" ") for c in chunks[:-1])  # between words


def test_a_word_longer_than_a_chunk_is_cut_where_it_must_be() -> None:
    url = "https://example.org/" + "a" * 300
    chunks = split_into_chunks(url, 4, lambda text: len(text) // 50 + 1)
    assert "".join(c.text for c in chunks) == url
    assert all(c.tokens <= 4 for c in chunks)


def test_offsets_say_where_each_chunk_was() -> None:
    text = "\n\n".join(sentence(n) for n in range(1, 30))
    chunks = split_into_chunks(text, 25, count_tokens)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for before, after in itertools.pairwise(chunks):
        assert before.end == after.start
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_a_budget_under_one_token_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one token"):
        split_into_chunks("text", 0, count_tokens)


texts = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(categories=("L", "N", "P", "Zs")), max_size=80),
        st.sampled_from(["\n\n", "\n", ". ", "! ", "。", " "]),
    ),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=texts, budget=st.integers(min_value=1, max_value=40))
def test_every_character_is_in_exactly_one_chunk_within_budget(text: str, budget: int) -> None:
    for tokenizer in (count_tokens, merging_tokenizer):
        chunks = split_into_chunks(text, budget, lambda t, tok=tokenizer: max(1, tok(t)))
        assert "".join(c.text for c in chunks) == text
        assert all(c.tokens <= budget for c in chunks)
        assert all(c.text for c in chunks)  # no empty chunk
