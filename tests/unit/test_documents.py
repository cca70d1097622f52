"""Reading the documents the writing tools take: text in any encoding, PDF, DOCX and HTML
(each made here with the library that reads it), and a clear message for anything else."""

from __future__ import annotations

import io

import docx
import pytest
from pypdf import PdfWriter
from sample_documents import pdf_with_pages

from desktop.tasks.documents import UnreadableDocument, read_document

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
        (b"not really a pdf", "fake.pdf", "fake.pdf is not a PDF Lantern can read"),
        (b"PK\x03\x04 not a zip", "fake.docx", "fake.docx is not a Word document"),
        (b"<html><script>x()</script></html>", "empty.html", "empty.html has no text"),
    ],
)
def test_what_cannot_be_read_says_why(data: bytes, name: str, message: str) -> None:
    with pytest.raises(UnreadableDocument, match=message):
        read_document(data, name)
