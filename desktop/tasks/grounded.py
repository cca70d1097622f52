"""Answers grounded in the user's documents: which retrieved passages a turn's prompt takes
(the best of those close enough to the question that fit its token budget), how they are
numbered and shown to the model, when "only from my documents" answers that nothing was
found, and which sources an answer cites.

Pure text logic: the chat service (services/chat.py) retrieves the passages, counts their
tokens with the model and stores the sources; the wording is in resources/prompts/ask/.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePath
from typing import Protocol, TypeVar

from desktop.engine.protocol import answer_reserve
from desktop.tasks.prompts import fill, template

# Below this cosine similarity to the question (all-MiniLM-L6-v2, the default embedder), a
# passage is not taken to answer it: it is not given to the model (an unrelated passage
# misleads a small model and lists a wrong file among the sources), and "only from my
# documents" answers that nothing was found when no passage reaches it. Measured on a
# library of five files indexed by Lantern, with 14 paraphrased questions it answers and 12
# it does not (the best passage of each): files of 3 sentences, answered 0.26-0.63, not
# 0.02-0.18; files of 9 sentences, answered 0.25-0.57, not 0.05-0.22; one passage a sentence
# (the model alone), answered 0.38-0.74, not 0.05-0.23. At 0.23 one of the 78 was judged
# wrongly (found); at 0.25 one answered question was missed, at 0.3 six; at 0.2 five
# unanswered ones were found.
RELEVANCE_THRESHOLD = 0.23
# Tokens kept free beyond the counted ones: the counts of the pieces of a prompt, added up,
# may fall a little short of the count of the whole.
COUNT_MARGIN_TOKENS = 16
COUNT_MARGIN_SHARE = 0.02


class Citable(Protocol):
    """A passage as the model is shown it and the Sources list names it."""

    @property
    def path(self) -> str: ...
    @property
    def page(self) -> int | None: ...
    @property
    def heading(self) -> str: ...
    @property
    def text(self) -> str: ...


class Retrieved(Citable, Protocol):
    """A passage found for a question, with where it lies in its file's text and how close
    in meaning it is to the question (None: not known)."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def similarity(self) -> float | None: ...


class Numbered(Protocol):
    @property
    def number(self) -> int: ...


RetrievedT = TypeVar("RetrievedT", bound=Retrieved)
NumberedT = TypeVar("NumberedT", bound=Numbered)

# [1], [2, 3], [1-3] (an en dash too); [1][2] is two of them.
_RANGE_DASH = "[-\u2013]"
_CITATION = re.compile(rf"\[\s*(\d+(?:\s*(?:,|{_RANGE_DASH})\s*\d+)*)\s*\]", re.ASCII)
_LONGEST_RANGE = 50  # a "[1-9999]" in an answer is not a citation of every source


def passage_budget(
    *,
    window: int,
    max_tokens: int,
    conversation_tokens: int,
    latest_tokens: int,
    may_leave_out_turns: bool,
) -> int:
    """Tokens the passages of a turn may take. `conversation_tokens`: the prompt without
    passages (instructions, the whole conversation); `latest_tokens`: the same with only
    the latest message. The passages take what the conversation and the answer leave; where
    older turns may be left out (the conversation's context policy), at least half of what
    the instructions, the latest message and the answer leave: a long chat still gets its
    passages, and loses its oldest turns as it would anyway. 0: no passage fits."""
    reserve = answer_reserve(max_tokens, window)
    margin = COUNT_MARGIN_TOKENS + int(window * COUNT_MARGIN_SHARE)
    after_all = window - reserve - conversation_tokens - margin
    if may_leave_out_turns:
        after_latest = window - reserve - latest_tokens - margin
        after_all = max(after_all, after_latest // 2)
    return max(0, after_all)


def fit_passages(
    passages: Sequence[RetrievedT], costs: Sequence[int], budget: int
) -> list[RetrievedT]:
    """The passages a prompt takes, best first (`passages` come best first; `costs` are
    their tokens as `source_entry` shows them): whole passages, as many as fit in `budget`,
    a smaller one further down taken where a larger one did not fit. A passage that overlaps
    one already taken from the same file (the chunks overlap; a follow-up finds its
    neighbours) would repeat it, and is left out."""
    taken: list[RetrievedT] = []
    left = budget
    for passage, cost in zip(passages, costs, strict=True):
        if cost > left or any(_overlap(passage, kept) for kept in taken):
            continue
        taken.append(passage)
        left -= cost
    return taken


def _overlap(a: Retrieved, b: Retrieved) -> bool:
    return a.path == b.path and a.start < b.end and b.start < a.end


def where(source: Citable, *, full_path: bool = False) -> str:
    """Where a passage is: its file (name, or whole path), page and heading."""
    parts = [source.path if full_path else PurePath(source.path).name]
    if source.page is not None:
        parts.append(f"page {source.page}")
    if source.heading:
        parts.append(source.heading)
    return ", ".join(parts)


def source_entry(number: int, source: Citable) -> str:
    """A passage as the model is shown it: its number, where it is from, its text."""
    return fill("ask/source", number=number, where=where(source), text=source.text.strip())


def grounded_system_message(
    own_prompt: str | None, entries: Sequence[str], *, documents_only: bool
) -> str:
    """The system message of a turn answered from documents: the conversation's own system
    prompt (if any), then how to use and cite the numbered passages (`source_entry`s)."""
    scope = template("ask/only_documents" if documents_only else "ask/with_knowledge")
    grounded = fill("ask/system", scope=scope, sources="\n\n".join(entries))
    own = (own_prompt or "").strip()
    return f"{own}\n\n{grounded}" if own else grounded


def relevant_passages(
    passages: Sequence[RetrievedT], threshold: float = RELEVANCE_THRESHOLD
) -> list[RetrievedT]:
    """The passages close enough in meaning to the question to answer it, in their order (a
    passage whose similarity is not known is not taken)."""
    return [p for p in passages if p.similarity is not None and p.similarity >= threshold]


def not_found_answer() -> str:
    """The answer "only from my documents" gives when nothing relevant was found."""
    return template("ask/not_found")


def cited_numbers(answer: str) -> list[int]:
    """The source numbers an answer cites, in the order it first cites them: [1], [2, 3],
    [1][2], [1-3]."""
    numbers: list[int] = []
    for match in _CITATION.finditer(answer):
        for part in match.group(1).split(","):
            bounds = [int(n) for n in re.split(_RANGE_DASH, part)]
            low, high = bounds[0], bounds[-1]
            if high - low > _LONGEST_RANGE:
                high = low
            for number in range(low, max(low, high) + 1):
                if number not in numbers:
                    numbers.append(number)
    return numbers


def cited_sources(answer: str, sources: Sequence[NumberedT]) -> list[NumberedT]:
    """The sources an answer cites (numbers it was not given are ignored), as it cites them."""
    by_number = {source.number: source for source in sources}
    return [by_number[n] for n in cited_numbers(answer) if n in by_number]
