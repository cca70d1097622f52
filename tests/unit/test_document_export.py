"""Exporting a result: Markdown as it is, plain text without the marks, and Word documents
read back here with python-docx (styles, runs, tables, list numbering)."""

from __future__ import annotations

import io

import docx
import pytest
from docx.text.paragraph import Paragraph
from markdown_it import MarkdownIt

from desktop.tasks.document_export import export_bilingual, export_document

REPORT = """# The lighthouse *keeper*

He wrote **every evening** in his _journal_, with `ink`,
and read [the almanac](https://example.org/almanac) or <https://example.org>.

## Duties

- light the lamp
- wind the clock
  - twice a day
- log the ships

3. Morning
4. Evening

#### Weather

> Fog again.

```
oil: 3 litres
  wick: trimmed
```

| Ship | Flag |
|------|------|
| *Mary* | **UK** |
| Astrid | NO |

---
"""


def read_docx(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def style(paragraph: Paragraph) -> str:
    return paragraph.style.name if paragraph.style is not None else ""


def test_markdown_is_written_as_it_is() -> None:
    assert export_document("# Titre\n\nÉté.", "md", title="ignored") == "# Titre\n\nÉté.".encode()


def test_plain_text_has_no_markdown_marks() -> None:
    text = export_document(REPORT, "txt").decode("utf-8")
    assert "**" not in text and "#" not in text and "`" not in text and "_journal_" not in text
    assert text.startswith(
        "The lighthouse keeper\n\nHe wrote every evening in his journal, with ink,"
    )
    assert "the almanac (https://example.org/almanac) or https://example.org." in text
    assert "- light the lamp\n- wind the clock\n  - twice a day\n- log the ships" in text
    assert "3. Morning\n4. Evening" in text
    assert "oil: 3 litres\n  wick: trimmed" in text  # code kept as it is
    assert "    Fog again." in text
    assert "Ship    Flag\n------  ----\nMary    UK\nAstrid  NO" in text
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert export_document("", "txt") == b""


def test_word_headings_and_title() -> None:
    document = read_docx(export_document(REPORT, "docx", title="Journal summary"))
    headings = [
        (style(p), p.text)
        for p in document.paragraphs
        if "itle" in style(p) or style(p).startswith("Heading")
    ]
    assert headings == [
        ("Title", "Journal summary"),
        ("Heading 1", "The lighthouse keeper"),
        ("Heading 2", "Duties"),
        ("Heading 3", "Weather"),  # h4 and deeper: Heading 3
    ]
    assert document.core_properties.title == "Journal summary"


def test_word_emphasis_code_and_links() -> None:
    document = read_docx(export_document(REPORT, "docx"))
    paragraph = next(p for p in document.paragraphs if p.text.startswith("He wrote"))
    runs = {run.text: run for run in paragraph.runs}
    assert runs["every evening"].bold and not runs["every evening"].italic
    assert runs["journal"].italic
    assert runs["ink"].font.name == "Courier New"
    assert paragraph.text == (
        "He wrote every evening in his journal, with ink, and read the almanac "
        "(https://example.org/almanac) or https://example.org."
    )
    code = next(p for p in document.paragraphs if p.text.startswith("oil"))
    assert code.runs[0].font.name == "Courier New"
    assert style(next(p for p in document.paragraphs if p.text == "Fog again.")) == "Quote"


def test_word_lists() -> None:
    document = read_docx(export_document(REPORT, "docx"))
    styles = {p.text: style(p) for p in document.paragraphs}
    assert styles["light the lamp"] == styles["log the ships"] == "List Bullet"
    assert styles["twice a day"] == "List Bullet 2"
    assert styles["Morning"] == styles["Evening"] == "List Number"


def test_each_numbered_list_counts_from_its_own_start() -> None:
    data = export_document("1. one\n2. two\n\nText between.\n\n7. seven\n", "docx")
    document = read_docx(data)
    numbered = [p for p in document.paragraphs if style(p) == "List Number"]
    num_ids = [int(p._p.xpath("./w:pPr/w:numPr/w:numId/@w:val")[0]) for p in numbered]
    assert num_ids[0] == num_ids[1] != num_ids[2]
    numbering = document.part.numbering_part.element
    starts = [numbering.num_having_numId(i).lvlOverride_lst[0].startOverride.val for i in num_ids]
    assert starts == [1, 1, 7]


def test_word_tables() -> None:
    document = read_docx(export_document(REPORT, "docx"))
    [table] = document.tables
    assert [[cell.text for cell in row.cells] for row in table.rows] == [
        ["Ship", "Flag"],
        ["Mary", "UK"],
        ["Astrid", "NO"],
    ]
    assert table.rows[0].cells[0].paragraphs[0].runs[0].bold
    assert table.rows[1].cells[0].paragraphs[0].runs[0].italic
    assert table.rows[1].cells[1].paragraphs[0].runs[0].bold


PAIRS = [
    ("## The keeper | his lamp", "## Le gardien | sa lampe"),
    ("He wrote **every** evening.\nIn ink.", "Il écrivait **chaque** soir.\nÀ l'encre."),
]


def test_bilingual_markdown_is_a_two_column_table() -> None:
    text = export_bilingual(
        PAIRS, "md", source_language="English", target_language="French", title="Journal"
    ).decode("utf-8")
    assert text.splitlines()[:5] == [
        "# Journal",
        "",
        "| English | French |",
        "| --- | --- |",
        "| ## The keeper \\| his lamp | ## Le gardien \\| sa lampe |",
    ]
    assert (
        "| He wrote **every** evening.<br>In ink. | Il écrivait **chaque** soir.<br>À l'encre. |"
        in text
    )
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    cells = [token for token in tokens if token.type in ("th_open", "td_open")]
    assert len(cells) == 2 * (1 + len(PAIRS))  # every pipe in the text stayed inside its cell


def test_bilingual_word_table() -> None:
    data = export_bilingual(PAIRS, "docx", source_language="English", target_language="French")
    [table] = read_docx(data).tables
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows == [
        ["English", "French"],
        ["The keeper | his lamp", "Le gardien | sa lampe"],
        ["He wrote every evening.\nIn ink.", "Il écrivait chaque soir.\nÀ l'encre."],
    ]
    assert table.rows[0].cells[1].paragraphs[0].runs[0].bold


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="pdf"):
        export_document("text", "pdf")  # type: ignore[arg-type]
