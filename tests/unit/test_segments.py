"""Translation segments: one per top-level Markdown block (one per item of a top-level list),
markup kept out of the text the model sees and put back around the translation, and the
document given back exactly when nothing (or the same text) is translated."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.tasks.segments import Segment, assemble, split_into_segments

WRAPPED_PARAGRAPH = "The keeper of the lighthouse\nwrote every evening\nin his journal."


def texts(segments: list[Segment]) -> list[str]:
    return [segment.text for segment in segments]


def test_twelve_plain_paragraphs_are_twelve_segments() -> None:
    paragraphs = [
        WRAPPED_PARAGRAPH if n % 3 == 0 else f"Paragraph {n} is on a single line."
        for n in range(12)
    ]
    document = "\n\n".join(paragraphs) + "\n"
    segments = split_into_segments(document)
    assert texts(segments) == paragraphs
    assert all(s.prefix == "" and s.translatable for s in segments)
    assert [s.separator for s in segments] == ["\n\n"] * 11 + ["\n"]
    assert split_into_segments(document, plain_text=True) == segments


def test_headings_keep_their_marks_out_of_the_text() -> None:
    document = "# Title\n\n## The voyage ##\n\nThe sea\n=======\n\n### C#\n"
    segments = split_into_segments(document)
    assert [(s.prefix, s.text, s.suffix) for s in segments] == [
        ("# ", "Title", ""),
        ("## ", "The voyage", " ##"),
        ("", "The sea", "\n======="),
        ("### ", "C#", ""),
    ]
    translated = assemble(segments, ["Titre", "Le voyage", "La mer", "C#"])
    assert translated == "# Titre\n\n## Le voyage ##\n\nLa mer\n=======\n\n### C#\n"


def test_each_top_level_list_item_is_a_segment_with_its_nested_content() -> None:
    document = "Shopping:\n\n- bread\n- cheese\n  - comté\n  - brie\n\n3. one\n4. two\n"
    segments = split_into_segments(document)
    assert [(s.prefix, s.text) for s in segments] == [
        ("", "Shopping:"),
        ("- ", "bread"),
        ("- ", "cheese\n- comté\n- brie"),
        ("3. ", "one"),
        ("4. ", "two"),
    ]
    translated = assemble(segments, ["Courses :", "pain", "fromage\n- comté\n- brie", None, None])
    assert translated == ("Courses :\n\n- pain\n- fromage\n  - comté\n  - brie\n\n3. one\n4. two\n")


def test_a_loose_list_item_with_two_paragraphs_stays_in_the_item() -> None:
    document = "1. First point,\n   wrapped.\n\n   Its second paragraph.\n2. Second point.\n"
    segments = split_into_segments(document)
    assert [(s.prefix, s.continuation) for s in segments] == [("1. ", "   "), ("2. ", "   ")]
    assert segments[0].text == "First point,\nwrapped.\n\nIts second paragraph."
    translated = assemble(segments, ["Premier point.\n\nSon second paragraphe.", "Second."])
    assert translated == "1. Premier point.\n\n   Son second paragraphe.\n2. Second.\n"


def test_a_blockquote_keeps_its_marks_on_every_line() -> None:
    document = "> To be, or not to be:\n> that is the question.\n>\n> Hamlet\n"
    [segment] = split_into_segments(document)
    assert (segment.prefix, segment.continuation) == ("> ", "> ")
    assert segment.text == "To be, or not to be:\nthat is the question.\n\nHamlet"
    translated = assemble([segment], ["Être ou ne pas être,\nc'est la question.\n\nHamlet"])
    assert translated == "> Être ou ne pas être,\n> c'est la question.\n>\n> Hamlet\n"


def test_a_quote_with_a_lazy_line_is_sent_whole() -> None:
    [segment] = split_into_segments("> first line\nlazy continuation")
    assert (segment.prefix, segment.text) == ("", "> first line\nlazy continuation")


def test_a_code_fence_with_blank_lines_is_one_untranslated_segment() -> None:
    fence = "```python\ndef f():\n\n    return 1\n\n\n```"
    document = f"Before.\n\n{fence}\n\nAfter."
    segments = split_into_segments(document)
    assert [s.source for s in segments] == ["Before.", fence, "After."]
    assert [s.translatable for s in segments] == [True, False, True]
    assert assemble(segments, ["Avant.", "ignored", "Après."]) == f"Avant.\n\n{fence}\n\nAprès."


def test_code_html_rules_and_link_definitions_are_copied_through() -> None:
    document = "    indented code\n\n<div>\nhi\n</div>\n\n---\n\n[home]: https://example.org\n"
    segments = split_into_segments(document)
    assert len(segments) == 4
    assert not any(s.translatable for s in segments)
    assert assemble(segments, ["x"] * 4) == document


def test_a_table_is_one_segment() -> None:
    table = "| Name | Colour |\n|------|--------|\n| sea  | blue   |"
    segments = split_into_segments(f"Colours:\n\n{table}\n")
    assert [(s.text, s.translatable) for s in segments] == [("Colours:", True), (table, True)]


def test_windows_line_endings_are_kept_and_the_model_sees_plain_newlines() -> None:
    document = "# Title\r\n\r\nLine one\r\nline two.\r\n\r\n- item\r\n  more\r\n"
    segments = split_into_segments(document)
    assert [s.text for s in segments] == ["Title", "Line one\nline two.", "item\nmore"]
    assert [s.separator for s in segments] == ["\r\n\r\n", "\r\n\r\n", "\r\n"]
    assert assemble(segments, ["Titre", "Ligne un\nligne deux.", "article\nplus"]) == (
        "# Titre\r\n\r\nLigne un\r\nligne deux.\r\n\r\n- article\r\n  plus\r\n"
    )


def test_an_empty_document_has_no_segments() -> None:
    assert split_into_segments("") == []
    assert split_into_segments(" \n\n\t\n") == []
    assert assemble([], []) == ""


def test_blank_lines_before_the_first_block_are_dropped() -> None:
    segments = split_into_segments("\n\n  \nHello.\n")
    assert "".join(s.source + s.separator for s in segments) == "Hello.\n"


def test_plain_text_mode_does_not_read_indentation_as_code() -> None:
    document = "    An indented first paragraph.\n\n# Not a heading either"
    segments = split_into_segments(document, plain_text=True)
    assert [(s.prefix, s.translatable) for s in segments] == [("", True), ("", True)]
    assert split_into_segments(document)[0].translatable is False


LINES = [
    "Plain words here.",
    "# Heading",
    "## Closed ##",
    "Setext",
    "===",
    "---",
    "- bullet",
    "  - nested",
    "* star",
    "1. first",
    "12) twelfth",
    "   continued",
    "> quote",
    ">",
    ">> deeper",
    "```",
    "~~~ py",
    "    code",
    "\tcode with a tab",
    "<div>",
    "</div>",
    "| a | b |",
    "|---|---|",
    "[ref]: https://example.org",
    "",
    " ",
    "\t",
    "-",
    "2.",
]


def documents(newline: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    words = st.text(st.characters(exclude_characters="\r\n"), max_size=12)
    line = st.one_of(st.sampled_from(LINES), words)
    return st.tuples(st.lists(line, max_size=25), newline, st.booleans()).map(
        lambda parts: parts[1].join(parts[0]) + (parts[1] if parts[2] else "")
    )


def without_leading_blank_lines(document: str) -> str:
    """Blank lines as CommonMark counts them: spaces and tabs only."""
    rest = re.sub(r"\A(?:[ \t]*(?:\r\n|\r|\n))*", "", document)
    return rest if rest.strip(" \t") else ""


@settings(max_examples=300, deadline=None)
@given(documents(st.sampled_from(["\n", "\r\n", "\r"])))
def test_segments_give_the_document_back(document: str) -> None:
    segments = split_into_segments(document)
    expected = without_leading_blank_lines(document)
    assert "".join(s.source + s.separator for s in segments) == expected
    assert assemble(segments, [None] * len(segments)) == expected
    assert assemble(segments, texts(segments)) == expected
    assert all("\r" not in s.text for s in segments)
    assert all(s.source and s.source[-1] not in "\r\n" for s in segments)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_given_back(document: str) -> None:
    segments = split_into_segments(document)
    assert assemble(segments, [None] * len(segments)) == without_leading_blank_lines(document)
    plain = split_into_segments(document, plain_text=True)
    assert assemble(plain, [None] * len(plain)) == without_leading_blank_lines(document)
