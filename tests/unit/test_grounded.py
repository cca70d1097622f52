"""Answers from documents (tasks/grounded.py): the passages a prompt takes within its token
budget, how the model is shown them, "not in the documents", and the citations an answer
makes."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from desktop.engine.protocol import answer_reserve
from desktop.tasks.grounded import (
    RELEVANCE_THRESHOLD,
    cited_numbers,
    cited_sources,
    fit_passages,
    grounded_system_message,
    not_found_answer,
    passage_budget,
    relevant_passages,
    source_entry,
    where,
)


@dataclass(frozen=True)
class Found:
    path: str
    start: int
    end: int
    text: str = "text"
    page: int | None = None
    heading: str = ""
    similarity: float | None = None


@dataclass(frozen=True)
class Source:
    number: int
    path: str = "a.txt"


def test_the_best_passages_that_fit_are_taken_whole_in_their_order() -> None:
    a, b, c, d = (Found(f"{n}.txt", 0, 10) for n in "abcd")
    # b is too large for what a leaves; c, further down, still fits.
    assert fit_passages([a, b, c, d], [50, 80, 30, 40], 100) == [a, c]
    assert fit_passages([a, b], [50, 80], 40) == []  # none fits: none taken
    assert fit_passages([b, a], [80, 50], 60) == [a]  # at least one when one fits


def test_a_passage_overlapping_one_taken_from_the_same_file_is_left_out() -> None:
    first = Found("notes.md", 100, 300)
    neighbour = Found("notes.md", 250, 450)  # the chunks overlap by a sentence
    after = Found("notes.md", 300, 500)  # touches, does not overlap
    elsewhere = Found("other.md", 100, 300)  # same offsets, another file
    taken = fit_passages([first, neighbour, after, elsewhere], [10, 10, 10, 10], 1000)
    assert taken == [first, after, elsewhere]


found_passages = st.lists(
    st.builds(
        Found,
        path=st.sampled_from(["a.md", "b.md", "c.md"]),
        start=st.integers(0, 500),
        end=st.integers(0, 500),
    ).filter(lambda p: p.start < p.end),
    max_size=12,
)


@given(found_passages, st.data(), st.integers(0, 500))
def test_fitted_passages_keep_to_the_budget_and_their_order_and_never_repeat_text(
    passages: list[Found], data: st.DataObject, budget: int
) -> None:
    costs = data.draw(st.lists(st.integers(1, 200), min_size=len(passages), max_size=len(passages)))
    taken = fit_passages(passages, costs, budget)
    cost_of = {id(p): c for p, c in zip(passages, costs, strict=True)}
    assert sum(cost_of[id(p)] for p in taken) <= budget
    positions = [next(i for i, q in enumerate(passages) if q is p) for p in taken]
    assert positions == sorted(positions)
    for i, p in enumerate(taken):
        for q in taken[i + 1 :]:
            assert p.path != q.path or p.end <= q.start or q.end <= p.start
    fitting = [p for p, c in zip(passages, costs, strict=True) if c <= budget]
    assert bool(taken) == bool(fitting)  # something fits: something is taken


@given(
    window=st.integers(64, 131072),
    max_tokens=st.integers(1, 8192),
    latest=st.integers(0, 4000),
    older=st.integers(0, 100000),
    may_leave_out=st.booleans(),
)
def test_passages_never_take_the_room_of_the_answer_and_the_latest_message(
    window: int, max_tokens: int, latest: int, older: int, may_leave_out: bool
) -> None:
    budget = passage_budget(
        window=window,
        max_tokens=max_tokens,
        conversation_tokens=latest + older,
        latest_tokens=latest,
        may_leave_out_turns=may_leave_out,
    )
    reserve = answer_reserve(max_tokens, window)
    assert budget >= 0
    assert budget == 0 or latest + budget + reserve < window
    if not may_leave_out:  # nothing of the conversation may be left out for them
        assert budget == 0 or latest + older + budget + reserve < window


def test_a_long_conversation_still_gets_passages_where_old_turns_may_go() -> None:
    short = dict(window=4096, max_tokens=512, latest_tokens=100)
    roomy = passage_budget(conversation_tokens=300, may_leave_out_turns=True, **short)
    long = passage_budget(conversation_tokens=5000, may_leave_out_turns=True, **short)
    held = passage_budget(conversation_tokens=5000, may_leave_out_turns=False, **short)
    assert roomy > long > 1000  # half of what the latest message and the answer leave
    assert held == 0  # "stop" policy: the conversation fills the window already


def test_passages_are_shown_numbered_with_where_they_are_from() -> None:
    passage = Found("/home/ada/notes/guide.pdf", 0, 5, "  Turn the key twice.\n", 3, "Doors")
    assert where(passage) == "guide.pdf, page 3, Doors"
    assert where(passage, full_path=True) == "/home/ada/notes/guide.pdf, page 3, Doors"
    entry = source_entry(2, passage)
    assert entry.startswith("[2] guide.pdf, page 3, Doors")
    assert entry.endswith("Turn the key twice.")
    system = grounded_system_message(
        "Be brief.", [source_entry(1, passage), entry], documents_only=True
    )
    assert system.startswith("Be brief.\n\n")
    assert "[1] guide.pdf" in system and "[2] guide.pdf" in system
    assert "only these passages" in system
    plain = grounded_system_message(None, [entry], documents_only=False)
    assert plain.startswith("Answer") and "only these passages" not in plain


def test_only_passages_close_enough_to_the_question_are_taken() -> None:
    close, far, unknown, closest = (
        Found(f"{n}.md", 0, 1, similarity=s)
        for n, s in [
            ("a", RELEVANCE_THRESHOLD),
            ("b", RELEVANCE_THRESHOLD - 0.01),
            ("c", None),
            ("d", 0.9),
        ]
    )
    assert relevant_passages([close, far, unknown, closest]) == [close, closest]
    assert relevant_passages([far, unknown]) == []
    assert not_found_answer() == "I could not find this in your documents."


def test_citations_are_read_in_every_usual_form() -> None:
    assert cited_numbers("Trim the wick [1]. Log the wind [2, 3].") == [1, 2, 3]
    assert cited_numbers("Both say so [3][1] and again [1].") == [3, 1]
    assert cited_numbers("See [ 2 ,4 ] and [5-7], [8\u20138].") == [2, 4, 5, 6, 7, 8]
    assert cited_numbers("No citation here; a list[index] or [a] is none.") == []
    assert cited_numbers("[1-100000]") == [1]  # not a citation of everything
    sources = [Source(1), Source(2), Source(3)]
    assert cited_sources("From [3] and [9], then [1].", sources) == [Source(3), Source(1)]


@given(st.text(), st.text())
def test_citations_are_read_in_the_order_the_answer_makes_them(first: str, then: str) -> None:
    earlier = cited_numbers(first)
    cited = cited_numbers(first + "." + then)
    assert len(cited) == len(set(cited))
    assert cited[: len(earlier)] == earlier
    assert cited_numbers("[٣]") == []  # digits of other scripts are no citation
