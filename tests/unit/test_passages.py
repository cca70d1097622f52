"""Passages a library indexes (issue 19): any text is covered whole, in passages within the
token budget that overlap by whole sentences, cut at sections and saying their page and
headings; counted in one batch. The counter here counts words and punctuation marks, as a
WordPiece tokenizer splits them (so counts add up across whitespace)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

import docx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sample_documents import chronicle, pdf_with_pages, word_file

from desktop.tasks.documents import Document, Heading, UnreadableDocument, read_document
from desktop.tasks.passages import Passage, split_into_passages

TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> int:
    return len(TOKEN.findall(text))


class Counter:
    """Counts as the embedder's tokenizer would, and how many round trips it took."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, texts: Sequence[str]) -> list[int]:
        self.calls.append(len(texts))
        return [tokens(text) for text in texts]


def passages_of(document: Document, max_tokens: int, overlap_tokens: int) -> list[Passage]:
    return split_into_passages(
        document, Counter(), max_tokens=max_tokens, overlap_tokens=overlap_tokens
    )


def assert_well_formed(document: Document, passages: list[Passage], max_tokens: int) -> None:
    """Exact, within the budget, never only whitespace, and covering the whole text."""
    text = document.text
    if not text.strip():
        assert passages == []
        return
    for passage in passages:
        assert passage.text == text[passage.start : passage.end]
        assert passage.text.strip()
        assert tokens(passage.text) <= max_tokens
    assert passages[0].start == 0
    assert passages[-1].end == len(text)
    for before, after in pairwise(passages):
        assert before.start < after.start <= before.end < after.end  # no gap, progress


# ---- any text ----

FRAGMENTS = [
    "The keeper lit the lamp",
    "ships",
    "Fog came late",
    ". ",
    "! ",
    "? ",
    "\u3002",
    "\u2026 ",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\n \n\t\n",
    "# Harbour\n\n",
    "## Ships\n\n",
    "### Lamps\n",
    "Tides\n=====\n\n",
    "https://example.org/" + "a" * 90,
    "\u00e9t\u00e9 ",
    ",",
]
MARKDOWN = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=60).map("".join)
BUDGETS = st.tuples(st.integers(1, 60), st.integers(0, 30))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400), budgets=BUDGETS)
def test_any_text_is_covered_exactly_within_the_budget(text: str, budgets: tuple[int, int]) -> None:
    max_tokens, overlap = budgets
    document = Document("any.txt", "text", text)
    passages = passages_of(document, max_tokens, overlap)
    assert_well_formed(document, passages, max_tokens)
    assert passages == passages_of(document, max_tokens, overlap)  # the same every time


@settings(max_examples=200, deadline=None)
@given(markdown=MARKDOWN, budgets=BUDGETS)
# A heading's line over a budget this small is cut, and a passage opens with its rest.
@example(markdown="### Lamps\n# Harbour\n\n", budgets=(5, 0))
def test_markdown_passages_overlap_by_whole_sentences_and_keep_to_sections(
    markdown: str, budgets: tuple[int, int]
) -> None:
    max_tokens, overlap = budgets
    try:
        document = read_document(markdown.encode(), "any.md")
    except UnreadableDocument:
        return  # only whitespace
    passages = passages_of(document, max_tokens, overlap)
    assert_well_formed(document, passages, max_tokens)
    text = document.text
    for before, after in pairwise(passages):
        repeated = text[after.start : before.end]
        assert tokens(repeated) <= overlap or not repeated.strip()
    # Each heading's line; a budget smaller than one cuts it, and a passage may then open
    # with the rest of it.
    heading_lines = [(h.start, _line_end(text, h.start)) for h in document.headings]
    for heading in document.headings:
        if heading.level > 2:
            continue
        for passage in passages:
            if passage.start < heading.start < passage.end:
                # Only where a section has nothing but headings before the next one: the
                # passage opens with those headings, each its own line (or two, setext).
                lead = text[passage.start : heading.start]
                offsets = [
                    m.start() + passage.start
                    for m in re.finditer(r"(?m)^\S.*$", lead)
                    if not re.fullmatch("=+|-+", m.group())
                ]
                assert all(
                    any(start <= offset < end for start, end in heading_lines) for offset in offsets
                ), lead


# ---- real documents ----


def guide() -> str:
    return (
        "# Guide\n\nThis guide tells how the lamp is kept.\n\n"
        "## Install\n\n" + chronicle(4, seed=1) + "\n\n"
        "### On Linux\n\n" + chronicle(3, seed=2) + "\n\n"
        "## Use\n\nLight the lamp at dusk. Trim the wick at midnight."
    )


def test_a_markdown_guide_in_passages_under_their_headings_counted_at_once() -> None:
    document = read_document(guide().encode(), "guide.md")
    counter = Counter()
    passages = split_into_passages(document, counter, max_tokens=80, overlap_tokens=30)
    assert_well_formed(document, passages, 80)
    assert len(counter.calls) == 1  # every sentence in one round trip
    text = document.text
    linux, use = text.index("### On Linux"), text.index("## Use")
    for passage in passages:
        if passage.start < text.index("## Install"):
            assert passage.heading == "Guide"
        elif passage.start < linux:
            assert passage.heading == "Guide > Install"
            assert passage.end <= linux  # a subsection's heading opens its passage
        elif passage.start < use:
            assert passage.heading == "Guide > Install > On Linux"
            assert passage.end == use or passage.end < use
        else:
            assert passage.heading == "Guide > Use"
            assert passage.text == "## Use\n\nLight the lamp at dusk. Trim the wick at midnight."
    assert {p.heading for p in passages} == {
        "Guide",
        "Guide > Install",
        "Guide > Install > On Linux",
        "Guide > Use",
    }
    # Within a section, each passage repeats whole sentences of the one before.
    overlapping = [(a, b) for a, b in pairwise(passages) if b.start < a.end]
    assert overlapping
    for before, after in overlapping:
        assert text[after.start - 1].isspace() and text[after.start - 2] in ".!?"
        assert 0 < tokens(text[after.start : before.end]) <= 30


def test_passages_prefer_to_end_with_a_paragraph() -> None:
    document = Document("town.txt", "text", chronicle(6, seed=3))
    passages = passages_of(document, max_tokens=150, overlap_tokens=0)
    assert_well_formed(document, passages, 150)
    # A paragraph is about 95 tokens: one fits a passage, and the sentences of a second that
    # would also fit stay out of it.
    assert all(p.text.endswith("\n\n") for p in passages[:-1])
    assert len(passages) == 6


def test_a_title_with_nothing_before_its_first_section_opens_that_sections_passage() -> None:
    text = "# Guide\n\n## Install\n\nRun the installer. Then restart."
    document = read_document(text.encode(), "guide.md")
    passages = passages_of(document, max_tokens=100, overlap_tokens=10)
    assert [(p.text, p.heading) for p in passages] == [(text, "Guide > Install")]


def test_pdf_passages_say_the_page_they_begin_on() -> None:
    pages = [
        f"Page {number} tells of the town of Quillon and its {number * 3} ships. "
        f"The keeper counted them twice on page {number}."
        for number in range(1, 6)
    ]
    document = read_document(pdf_with_pages(*pages), "log.pdf")
    # Each page's two sentences: 13 and 9 tokens; a passage holds one of them.
    passages = passages_of(document, max_tokens=16, overlap_tokens=0)
    assert_well_formed(document, passages, 16)
    assert len(passages) == 10
    for passage in passages:
        number = re.search(r"page (\d+)|Page (\d+)", passage.text)
        assert number is not None
        assert passage.page == int(number.group(1) or number.group(2))
        assert passage.heading == ""


def test_word_passages_under_the_title_and_heading_styles() -> None:
    made = docx.Document()
    made.add_heading("Annual report", level=0)
    made.add_paragraph("Written by the keeper of the northern light.")
    made.add_heading("The lighthouse", level=1)
    made.add_paragraph(chronicle(1, seed=4))
    made.add_heading("Its lamp", level=2)
    made.add_paragraph("The lamp burns oil. It turns twice a minute.")
    made.add_heading("The wick", level=3)
    made.add_paragraph("The wick is trimmed at midnight.")
    document = read_document(word_file(made), "report.docx")
    passages = passages_of(document, max_tokens=300, overlap_tokens=20)
    assert_well_formed(document, passages, 300)
    assert [(p.heading, p.text.split("\n")[0]) for p in passages] == [
        ("Annual report", "Annual report"),
        ("Annual report > The lighthouse", "The lighthouse"),
        # A heading of level 3 does not start a passage of its own.
        ("Annual report > The lighthouse > Its lamp", "Its lamp"),
    ]
    assert passages[-1].text.endswith("The wick is trimmed at midnight.")


def test_html_passages_cut_at_its_sections() -> None:
    markup = (
        "<h1>Harbour log</h1><p>Kept daily.</p><h2>Spring</h2><p>The ice broke. Ships came.</p>"
        "<h2>Summer</h2><p>Calm sea.</p>"
    )
    document = read_document(markup.encode(), "log.html")
    passages = passages_of(document, max_tokens=100, overlap_tokens=10)
    assert [(p.heading, p.text) for p in passages] == [
        ("Harbour log", "Harbour log\n\nKept daily.\n\n"),
        ("Harbour log > Spring", "Spring\n\nThe ice broke. Ships came.\n\n"),
        ("Harbour log > Summer", "Summer\n\nCalm sea."),
    ]


def test_a_sentence_or_a_word_longer_than_a_passage_is_cut_and_counted_again() -> None:
    url = "https://example.org/" + "/".join(f"harbour{i}" for i in range(400))
    long_sentence = " ".join(["lamp"] * 300) + "."
    text = f"Short opening. {long_sentence}\n\nSee {url} for the log. The end."
    document = Document("long.txt", "text", text)
    counter = Counter()
    passages = split_into_passages(document, counter, max_tokens=64, overlap_tokens=8)
    assert_well_formed(document, passages, 64)
    # The sentences, then the words of the two long ones, then slices of the long word.
    assert len(counter.calls) == 3
    assert counter.calls[1] < 400  # only what was too long is counted again


def test_whitespace_only_gives_no_passages_and_a_small_budget_is_refused() -> None:
    assert passages_of(Document("blank.txt", "text", " \n\n\t "), 10, 2) == []
    with pytest.raises(ValueError, match="at least one token"):
        passages_of(Document("a.txt", "text", "text"), 0, 0)


def test_headings_out_of_order_or_outside_the_text_are_taken_in_order() -> None:
    text = "Intro.\n\nOne\n\nFirst part.\n\nTwo\n\nSecond part."
    headings = (
        Heading(text.index("Two"), 1, "Two"),
        Heading(text.index("One"), 1, "One"),
        Heading(len(text) + 5, 1, "Beyond"),
    )
    document = Document("parts.txt", "text", text, marked_headings=headings)
    passages = passages_of(document, max_tokens=100, overlap_tokens=0)
    assert [(p.heading, p.text) for p in passages] == [
        ("", "Intro.\n\n"),
        ("One", "One\n\nFirst part.\n\n"),
        ("Two", "Two\n\nSecond part."),
    ]


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return end if end >= 0 else len(text)
