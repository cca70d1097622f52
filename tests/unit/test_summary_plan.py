"""The summary's options, prompts and map-reduce arithmetic (no model)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.errors import LanternError
from desktop.tasks.prompts import prompts_dir
from desktop.tasks.summary import (
    FORMATS,
    LENGTHS,
    SummaryOptions,
    combine_messages,
    estimated_passes,
    final_messages,
    group_notes,
    note_tokens,
    parse_length,
    part_messages,
    text_budget,
)


@given(st.lists(st.integers(min_value=1, max_value=500), max_size=40), st.integers(100, 2000))
def test_note_groups_are_consecutive_cover_every_note_and_fit(
    tokens: list[int], budget: int
) -> None:
    groups = group_notes(tokens, budget)
    assert [i for group in groups for i in group] == list(range(len(tokens)))
    for group in groups:
        assert len(group) == 1 or sum(tokens[i] for i in group) <= budget


def test_passes_grow_with_the_parts_that_must_be_merged() -> None:
    assert estimated_passes(1, 3000, 3000, 400) == 1
    assert estimated_passes(5, 3000, 3000, 400) == 2  # notes, then the summary
    assert estimated_passes(20, 3000, 3000, 400) == 3  # notes, one merge round, summary
    assert estimated_passes(200, 3000, 3000, 400) == 4


def test_note_size_follows_the_context_within_bounds() -> None:
    assert note_tokens(512) == 96 and note_tokens(2048) == 204 and note_tokens(32768) == 400
    assert note_tokens(4096, 2048) == 256 and note_tokens(4096, 400) == 96


def test_a_context_too_small_for_the_prompt_is_refused_with_a_way_out() -> None:
    with pytest.raises(LanternError, match="too small to summarize"):
        text_budget(256, 150, 96)


@pytest.mark.parametrize(
    ("written", "expected"),
    [("short", ("short", None)), ("150", ("words", 150)), (" Detailed ", ("detailed", None))],
)
def test_lengths_as_the_user_writes_them(written: str, expected: tuple[str, int | None]) -> None:
    assert parse_length(written) == expected


def test_unknown_lengths_and_formats_say_what_is_allowed() -> None:
    with pytest.raises(LanternError, match="sentence, short, detailed or a number of words"):
        parse_length("medium")
    with pytest.raises(LanternError, match="paragraph, bullets, keypoints, tldr"):
        SummaryOptions(format="haiku")  # type: ignore[arg-type]
    with pytest.raises(LanternError, match="from 5 to 3000"):
        SummaryOptions(length="words", words=2)


def test_every_option_has_its_template_and_reaches_the_prompt() -> None:
    for length in LENGTHS:
        assert (prompts_dir() / "summarize" / "length" / f"{length}.md").is_file()
    for fmt in FORMATS:
        options = SummaryOptions(
            length="words", words=120, format=fmt, tone="for a child", language="German",
            focus="the dates",
        )  # fmt: skip
        _, user = final_messages("THE TEXT", options, from_notes=False, source_name="a.txt")
        assert "THE TEXT" in user.content and "120 words" in user.content
        assert "for a child" in user.content and "German" in user.content
        assert "the dates" in user.content and "(a.txt)" in user.content
        assert "{" not in user.content


def test_notes_prompts_name_the_part_and_carry_the_text() -> None:
    options = SummaryOptions()
    system, user = part_messages("PART TEXT", 2, 7, options, 250)
    assert system.role == "system" and "part 2 of 7" in user.content
    assert "at most 100 words" in user.content
    assert "PART TEXT" in user.content
    _, merged = combine_messages(["NOTE ONE", "NOTE TWO"], options, 250)
    assert "NOTE ONE\n\nNOTE TWO" in merged.content
    _, final = final_messages("NOTES", options, from_notes=True)
    assert "notes on every part" in final.content
