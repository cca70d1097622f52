"""Reading the documents the writing tools take: text in any encoding, PDF, DOCX and HTML
(each made here with the library that reads it), and a clear message for anything else."""

from __future__ import annotations

import io

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter
from sample_documents import pdf_with_pages, word_file

from desktop.tasks.documents import (
    Heading,
    UnreadableDocument,
    is_library_document,
    read_document,
)

FRENCH = (
    "Le gardien du phare écrivait chaque soir dans son journal : le temps qu'il faisait, "
    "les navires qui passaient, l'huile brûlée, et le nom des mouettes qu'il connaissait. "
    "Il préférait l'été, où la mer était calme et les soirées longues, à l'hiver glacé. "
)


def test_utf8_with_a_bom_and_windows_line_ends() -> None:
    data = "\ufeffFirst line.\r\n\r\n\r\n\r\nSecond paragraph.   \r\n".encode()
    document = read_document(data, "notes.txt")
    assert document.text == "First line.\n\nSecond paragraph."
    assert (document.kind, document.encoding, document.words) == ("text", "utf-8", 4)


def test_an_old_windows_encoding_is_detected() -> None:
    document = read_document((FRENCH * 3).encode("cp1252"), "journal.txt")
    assert "écrivait" in document.text and "brûlée" in document.text
    assert document.text.startswith("Le gardien du phare")


def test_utf16_with_its_bom() -> None:
    document = read_document("Ahoy, captain.".encode("utf-16"), "ship.txt")
    assert document.text == "Ahoy, captain."


def test_markdown_keeps_its_marks() -> None:
    document = read_document(b"# Logbook\n\n- calm sea\n- **fog**\n", "log.md")
    assert document.kind == "markdown"
    assert document.text == "# Logbook\n\n- calm sea\n- **fog**"


def test_pdf_pages_become_paragraphs() -> None:
    document = read_document(pdf_with_pages("The first page.", "The second page."), "log.pdf")
    assert document.kind == "pdf"
    assert document.text == "The first page.\n\nThe second page."


def test_a_pdf_without_text_says_it_may_be_scanned() -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(UnreadableDocument, match=r"scanned pages.*OCR"):
        read_document(out.getvalue(), "scan.pdf")


def test_docx_paragraphs_and_tables() -> None:
    made = docx.Document()
    made.add_heading("Keeper's log", level=1)
    made.add_paragraph("Calm sea in the morning.")
    made.add_paragraph("Fog by noon.")
    table = made.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Oil", "3 litres"
    table.cell(1, 0).text, table.cell(1, 1).text = "Ships", "7"
    out = io.BytesIO()
    made.save(out)
    document = read_document(out.getvalue(), "log.docx")
    assert document.text == (
        "Keeper's log\n\nCalm sea in the morning.\n\nFog by noon.\n\nOil | 3 litres\n\nShips | 7"
    )


def test_html_text_without_scripts_and_with_paragraphs() -> None:
    markup = """<html><head><title>Log</title><style>p {color: red}</style></head>
    <body><h1>Keeper&rsquo;s log</h1>
    <p>The sea was <b>calm</b>,
       and the fog came late.</p>
    <script>alert("no")</script>
    <ul><li>oil</li><li>wicks</li></ul></body></html>"""
    document = read_document(markup.encode("utf-8"), "log.html")
    assert document.text == (
        "Keeper\u2019s log\n\nThe sea was calm, and the fog came late.\n\noil\n\nwicks"
    )


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.txt", "empty.txt is empty."),
        (b"  \n\n \t ", "blank.md", "blank.md is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png", "cannot read photo.png"),
        (b"\x00\x01\x02binary\xff\xfe", "data.txt", "looks like a binary file"),
        (b"\x00\x01\x02" * 100, "zeros.txt", "looks like a binary file"),  # valid UTF-8
        (b"not really a pdf", "fake.pdf", "fake.pdf is not a PDF Lantern can read"),
        (b"PK\x03\x04 not a zip", "fake.docx", "fake.docx is not a Word document"),
        (b"<html><script>x()</script></html>", "empty.html", "empty.html has no text"),
    ],
)
def test_what_cannot_be_read_says_why(data: bytes, name: str, message: str) -> None:
    with pytest.raises(UnreadableDocument, match=message):
        read_document(data, name)


# ---- where pages and headings start (issue 19: passages say where they come from) ----


def test_pdf_pages_start_where_each_page_text_starts() -> None:
    pages = ("The first page.", "", "The third page.", "The fourth page.")
    document = read_document(pdf_with_pages(*pages), "log.pdf")
    assert document.text == "The first page.\n\nThe third page.\n\nThe fourth page."
    # The empty second page starts where the third does: no text of its own.
    assert document.pages == (0, 17, 17, 34)
    assert [document.text[start:].split("\n")[0] for start in document.pages] == [
        "The first page.",
        "The third page.",
        "The third page.",
        "The fourth page.",
    ]


def test_markdown_headings_atx_and_setext_but_not_in_code() -> None:
    text = (
        "Guide\n=====\n\nWhat it is.\n\n## Install  ##\n\n```sh\n# not a heading\n```\n\n"
        "  ### On Linux\nRun it.\n\nUse\n---\n\n> #### Quoted *heading*\n"
    )
    document = read_document(text.encode(), "guide.md")
    assert document.headings == (
        Heading(0, 1, "Guide"),
        Heading(text.index("## Install"), 2, "Install"),
        Heading(text.index("### On Linux"), 3, "On Linux"),
        Heading(text.index("Use\n---"), 2, "Use"),
        Heading(text.index("> ####"), 4, "Quoted *heading*"),
    )
    assert read_document(b"# Notes\n\nplain", "notes.txt").headings == ()  # text: no Markdown


def test_html_headings_with_their_text_and_level() -> None:
    markup = (
        "<html><head><title>Not shown</title></head><body><h1>Keeper&rsquo;s <i>log</i></h1>"
        "<p>The sea was calm.</p><h3>\n  Fog\n</h3><p>It came late.</p><h2></h2></body></html>"
    )
    document = read_document(markup.encode(), "log.html")
    assert document.text == "Keeper\u2019s log\n\nThe sea was calm.\n\nFog\n\nIt came late."
    assert document.headings == (Heading(0, 1, "Keeper\u2019s log"), Heading(33, 3, "Fog"))


def test_word_headings_from_their_styles_where_the_text_lands_after_tidying() -> None:
    made = docx.Document()
    made.add_heading("Annual report", level=0)  # Word's Title style
    made.add_paragraph("Written by the keeper.   ")  # trailing spaces, then empty paragraphs
    made.add_paragraph("")
    made.add_paragraph("  \t")
    made.add_heading("The lighthouse", level=1)
    made.add_paragraph("It stands on the cliff.\r\nIt is white.")  # two line breaks
    made.add_heading("Its lamp", level=2)
    made.add_paragraph("Heading 1", style="Normal")  # a heading's words, not its style
    document = read_document(word_file(made), "report.docx")
    assert document.text == (
        "Annual report\n\nWritten by the keeper.\n\nThe lighthouse\n\nIt stands on the "
        "cliff.\n\nIt is white.\n\nIts lamp\n\nHeading 1"
    )
    assert [(h.level, h.title) for h in document.headings] == [
        (0, "Annual report"),
        (1, "The lighthouse"),
        (2, "Its lamp"),
    ]
    assert [document.text[h.start :].split("\n")[0] for h in document.headings] == [
        "Annual report",
        "The lighthouse",
        "Its lamp",
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["p", "h1", "h2", "h4", "div", "li"]),
            st.text(alphabet=" \n\tab\u00e9.\u00a0", max_size=12),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_html_headings_start_at_their_title_whatever_the_whitespace(
    blocks: list[tuple[str, str]],
) -> None:
    markup = "".join(f"<{tag}>{text}</{tag}>" for tag, text in blocks)
    try:
        document = read_document(markup.encode(), "page.html")
    except UnreadableDocument:
        return  # only whitespace: no text
    expected = [
        (int(tag[1]), " ".join(text.split()))
        for tag, text in blocks
        if tag.startswith("h") and text.split()
    ]
    assert [(h.level, h.title) for h in document.headings] == expected
    for heading in document.headings:
        assert document.text.startswith(heading.title, heading.start)


def test_source_code_reads_as_text() -> None:
    code = b"def keeper():\r\n    return 'lamp'\r\n"
    document = read_document(code, "keeper.py")
    assert (document.kind, document.text) == ("text", "def keeper():\n    return 'lamp'")
    assert (document.pages, document.headings) == ((), ())
    with pytest.raises(UnreadableDocument, match=r"keeper\.rs looks like a binary file"):
        read_document(b"\x00\x01\xff\xfe\x00binary", "keeper.rs")


@pytest.mark.parametrize(
    ("name", "indexed"),
    [
        ("notes.txt", True),
        ("Guide.MD", True),
        ("report.pdf", True),
        ("letter.docx", True),
        ("page.htm", True),
        ("main.py", True),
        ("lib.rs", True),
        ("config.yaml", True),
        ("data.csv", True),
        ("README", True),
        ("photo.png", False),
        ("archive.zip", False),
        ("program", False),  # no suffix: most such files are programs
        (".DS_Store", False),
        (".env", False),
        ("~$letter.docx", False),  # the lock file Word keeps beside an open document
        ("old.doc", False),
    ],
)
def test_which_files_a_library_indexes(name: str, indexed: bool) -> None:
    assert is_library_document(name) is indexed
