"""Hostile and broken documents (issue 16, point 3): each is built here, small on disk, and
each is read or refused with a message that says what is wrong, without unpacking what it
claims to hold; whatever the reader libraries raise, the user gets an UnreadableDocument."""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sample_documents import (
    docx_inflating_to,
    docx_table_merged_down,
    html_empty_paragraphs,
    html_nested_divs,
    html_paragraphs,
    pdf_drawing_a_form,
    pdf_pages_sharing_content,
    pdf_with_a_stamp,
    pdf_with_forms_drawing,
    pdf_with_pages,
    pdf_with_stream_inflating_to,
    zip_listing,
)

from desktop.services.files import read_document_file, read_document_stream
from desktop.tasks.documents import MAX_CHARACTERS, UnreadableDocument, read_document

MB = 1024 * 1024


def peak_python_memory(read: Callable[[], object]) -> int:
    """The most memory Python objects took while `read` ran (zipfile's and pypdf's inflated
    bytes among them), in bytes."""
    tracemalloc.start()
    try:
        read()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def refusal(data: bytes, name: str) -> str:
    with pytest.raises(UnreadableDocument) as refused:
        read_document(data, name)
    return refused.value.message


# ---- HTML: one pass, however many paragraphs and however deep ----


@pytest.mark.timeout(60)  # the old reader took minutes here (quadratic); this one, a second
def test_a_page_of_40000_paragraphs_keeps_every_paragraph() -> None:
    document = read_document(html_paragraphs(40_000).encode(), "log.html")
    paragraphs = document.text.split("\n\n")
    assert len(paragraphs) == 40_000
    assert paragraphs[0] == "Line 0 of the log." and paragraphs[-1] == "Line 39999 of the log."


@pytest.mark.timeout(60)  # the old reader never finished
def test_100000_nested_divs_give_their_sentence() -> None:
    document = read_document(html_nested_divs(100_000).encode(), "deep.html")
    assert document.text == "The keeper slept."


def test_html_keeps_headings_and_paragraphs_and_drops_what_a_browser_hides() -> None:
    markup = """<!DOCTYPE html><html><head><title>Not shown</title>
    <meta charset="utf-8"><style>p {}</style>
    <body><h2>Log</h2><p>First&nbsp;line<br>second line</p><noscript>enable js</noscript>
    <template><p>a template</p></template><p>Wind <i>from the</i>
       north.</p><!-- a comment --></body></html>"""
    document = read_document(markup.encode(), "log.htm")
    assert document.text == "Log\n\nFirst line\n\nsecond line\n\nWind from the north."


def test_markup_with_next_to_no_text_is_read_whole() -> None:
    # The old reader counted every block's breaks and whitespace as text: refused.
    document = read_document(html_empty_paragraphs(400_000).encode(), "blank.html")
    assert document.text == "The keeper slept."


# ---- Word: the zip's sizes checked before python-docx opens it ----


@pytest.mark.parametrize(
    ("megabytes", "part"),
    [(100, "word/document.xml"), (40, "word/d.bin")],
    ids=["a-bomb", "its-xml-named-otherwise"],  # XML by its content type, whatever its name
)
def test_a_word_zip_bomb_is_refused_before_it_is_unpacked(megabytes: int, part: str) -> None:
    bomb = docx_inflating_to(megabytes * MB, part)
    assert len(bomb) < 2 * MB  # what the user has on disk
    messages: list[str] = []
    peak = peak_python_memory(lambda: messages.append(refusal(bomb, "report.docx")))
    assert messages == [
        f"report.docx unpacks to {megabytes} MB ({megabytes} MB of it text and layout); "
        "Lantern opens Word documents that unpack to at most 200 MB (32 MB of text and "
        "layout). Split it into smaller files, or paste the part you need."
    ]
    assert peak < 10 * MB  # nothing was unpacked


def test_a_word_file_of_too_many_paragraphs_is_refused() -> None:
    message = refusal(docx_inflating_to(8 * MB), "list.docx")
    assert message.startswith("list.docx has 123,360 paragraphs;")
    assert "Lantern reads Word documents of up to 50,000" in message


@pytest.mark.parametrize(
    ("member", "read"),
    [("word/media/chart.jpeg", True), ("word/media/chart.dat", False)],
    ids=["a-picture", "a-part-of-no-known-type"],
)
def test_a_large_part_counts_as_xml_unless_its_content_type_says_otherwise(
    member: str, read: bool
) -> None:
    made = docx.Document()  # its [Content_Types].xml gives .jpeg the type image/jpeg
    made.add_paragraph("Calm sea in the morning.")
    out = io.BytesIO()
    made.save(out)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as package:
        package.writestr(member, bytes(40 * MB))
    if read:
        assert read_document(out.getvalue(), "log.docx").text == "Calm sea in the morning."
    else:
        # 40 MB and python-docx's template, all of it counted as XML
        message = refusal(out.getvalue(), "log.docx")
        assert re.match(r"log\.docx unpacks to (4\d) MB \(\1 MB of it text and layout\)", message)


def test_a_zip_listing_200000_entries_is_refused_before_its_list_is_read() -> None:
    listing = zip_listing(200_000)  # the size of its list in its zip64 record only
    messages: list[str] = []
    peak = peak_python_memory(lambda: messages.append(refusal(listing, "list.docx")))
    assert messages == [
        "list.docx is a zip whose list of parts takes 9.0 MB, room for far more than the "
        "5,000 parts Lantern opens in a Word document. Save it again as .docx in Word or "
        "LibreOffice."
    ]
    assert peak < MB  # no ZipInfo made (zipfile makes 200,000: some 80 MB)


# ---- Word tables: read from the XML in one pass ----


@pytest.mark.timeout(60)  # python-docx took minutes here, following each merge up to its top
def test_a_table_of_300_rows_merged_down_gives_its_first_row_once() -> None:
    document = read_document(docx_table_merged_down(300, 30), "merged.docx")
    rows = document.text.split("\n\n")
    assert len(rows) == 300
    assert rows[0].startswith("Quillon | Amberhavn | Corrowick | ") and rows[0].count("|") == 29
    assert set(rows[1:]) == {" | ".join([""] * 30).rstrip()}  # continued cells: no text


@pytest.mark.timeout(60)
def test_a_table_of_more_cells_than_a_word_file_has_paragraphs_is_refused() -> None:
    assert refusal(docx_table_merged_down(1000, 60), "merged.docx") == (
        "merged.docx has 60,000 table cells; Lantern reads Word documents of up to 50,000. "
        "Split it into smaller files, or paste the part you need."
    )


def test_merged_cells_give_their_text_once_and_inner_tables_their_rows() -> None:
    made = docx.Document()
    made.add_paragraph("Harbour dues.")
    table = made.add_table(rows=4, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Quillon"  # across the first row
    table.cell(1, 0).merge(table.cell(3, 0)).text = "Salt"  # down the three rows below
    for row, year in ((1, "1402"), (2, "1409"), (3, "1416")):
        table.cell(row, 1).text = year
    inner = table.cell(3, 1).add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "Barrels", "12"
    out = io.BytesIO()
    made.save(out)
    assert read_document(out.getvalue(), "dues.docx").text == (
        "Harbour dues.\n\nQuillon\n\nSalt | 1402\n\n | 1409\n\n | 1416\n\nBarrels | 12"
    )


def _word_file_with(member: str, change: Callable[[bytes], bytes | None]) -> bytes:
    made = docx.Document()
    made.add_paragraph("Calm sea in the morning.")
    original = io.BytesIO()
    made.save(original)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(original) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            changed = change(data) if info.filename == member else data
            if changed is not None:
                target.writestr(info.filename, changed)
    return out.getvalue()


@pytest.mark.parametrize(
    ("member", "change"),
    [
        ("word/document.xml", lambda xml: xml[: len(xml) // 2]),  # lxml: XMLSyntaxError
        ("word/document.xml", lambda xml: b"<w:document>" * 300 + xml),  # undeclared prefix
        ("word/document.xml", lambda xml: None),  # python-docx: KeyError
        ("[Content_Types].xml", lambda xml: None),
        ("word/styles.xml", lambda xml: b"\xff\xfe not xml"),
    ],
    ids=["cut-short", "broken-namespaces", "no-body", "no-content-types", "bad-styles"],
)
def test_a_broken_word_file_says_it_may_be_damaged(
    member: str, change: Callable[[bytes], bytes | None]
) -> None:
    assert refusal(_word_file_with(member, change), "minutes.docx") == (
        "minutes.docx is not a Word document Lantern can read: it may be damaged. Open it "
        "in Word or LibreOffice, save it again as .docx, and open that."
    )


# ---- PDF: pypdf's own bounds, and its errors ----


def test_a_pdf_stream_that_inflates_past_pypdf_limit_is_refused() -> None:
    bomb = pdf_with_stream_inflating_to(80 * MB)
    assert len(bomb) < MB
    assert refusal(bomb, "scan.pdf") == (
        "scan.pdf has a part that unpacks to more than 72 MB, the most Lantern unpacks. "
        "Print or save it to a new PDF, and open that."
    )


# pypdf parsed the shared stream again for each page (200 s), the form for each drawing (100 s)
@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "build",
    [lambda: pdf_pages_sharing_content(200, MB), lambda: pdf_drawing_a_form(100, MB)],
    ids=["one-stream-on-200-pages", "one-form-drawn-100-times"],
)
def test_pdf_content_is_counted_each_time_a_page_shows_it(build: Callable[[], bytes]) -> None:
    pdf = build()
    assert len(pdf) < 100_000
    assert refusal(pdf, "atlas.pdf") == (
        "atlas.pdf has more than 32 MB of page content to go through (a part counted each "
        "time a page shows it), more than Lantern reads at once. Split it into smaller "
        "files, or print it to a new PDF and open that."
    )


def test_forms_drawn_on_every_page_or_inside_themselves_are_read() -> None:
    letters = pdf_with_pages("The first page.", "The second page.", letterhead="Harbour")
    assert read_document(letters, "letters.pdf").text == (
        "Harbour\nThe first page.\n\nHarbour\nThe second page."
    )
    assert read_document(pdf_with_forms_drawing({"/Buoy": "/Buoy"}), "buoy.pdf").text == "Buoy"


def test_a_form_is_counted_for_the_name_it_is_drawn_by() -> None:
    # Were each "Do" counted as the costliest form on the page (40 KB), the drawings or
    # the text saying "Do" would be refused.
    stamped = read_document(pdf_with_a_stamp(2000, 40 * 1024), "stamped.pdf").text
    assert stamped.startswith("To Do:Do it.")
    assert (stamped.count("Do it."), stamped.count("Approved")) == (2000, 2000)


def test_forms_drawing_each_other_in_a_loop_are_refused() -> None:
    # pypdf skips a form inside itself, but what the loop costs depends on where it starts.
    loop = pdf_with_forms_drawing({"/Ebb": "/Flow", "/Flow": "/Ebb"})
    assert "has more than 32 MB of page content to go through" in refusal(loop, "tide.pdf")


def test_a_damaged_pdf_says_so() -> None:
    whole = pdf_with_stream_inflating_to(MB)
    assert "may be damaged" in refusal(whole[: len(whole) // 3], "cut.pdf")


# ---- what Lantern holds: input bytes and output characters ----


def test_text_past_the_character_limit_is_refused_with_the_limit() -> None:
    words = ("word " * (MAX_CHARACTERS // 5 + 1)).encode()
    assert refusal(words, "novel.txt") == (
        "novel.txt has more than 2,000,000 characters of text (about 1,000 pages), more "
        "than Lantern takes at once. Split it into smaller files, or paste the part you need."
    )
    assert refusal(html_paragraphs(100_000).encode(), "long.html").startswith(
        "long.html has more than 2,000,000 characters"
    )


def test_a_file_past_its_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "atlas.pdf"
    with big.open("wb") as file:
        file.truncate(300 * MB)  # sparse: takes no disk
    messages: list[str] = []
    peak = peak_python_memory(lambda: messages.append(_refused_file(big)))
    assert messages == [
        "atlas.pdf is 300 MB; Lantern reads PDF files up to 100 MB. Split it into smaller "
        "files, or paste the part you need."
    ]
    assert peak < MB
    piped = io.BytesIO(b"a" * (9 * MB))
    with pytest.raises(
        UnreadableDocument, match=r"is 8\.0 MB; Lantern reads text files up to 8\.0"
    ):
        read_document_stream(piped, "standard input")
    assert piped.tell() == 8 * MB + 1  # read one byte past the limit, not the whole stream


def _refused_file(path: Path) -> str:
    with pytest.raises(UnreadableDocument) as refused:
        read_document_file(path)
    return refused.value.message


def test_a_document_file_is_read_whole_when_it_fits(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nThe keeper slept.", encoding="utf-8")
    assert read_document_file(path).text == "# Notes\n\nThe keeper slept."


# ---- fuzz: only ever a Document or an UnreadableDocument ----

NAMES = ["x.pdf", "x.docx", "x.html", "x.txt", "x.md", "x.bin", "standard input"]
FUZZ = settings(
    max_examples=60,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _reads_or_refuses(data: bytes, name: str) -> None:
    try:
        document = read_document(data, name)
    except UnreadableDocument as refused:
        assert refused.message and "Traceback" not in refused.message
    else:
        assert document.text and len(document.text) <= MAX_CHARACTERS


@FUZZ
@given(data=st.binary(max_size=4096), name=st.sampled_from(NAMES))
def test_random_bytes_are_read_or_refused(data: bytes, name: str) -> None:
    _reads_or_refuses(data, name)


def _samples() -> dict[str, bytes]:
    made = docx.Document()
    made.add_heading("Log", level=1)
    made.add_paragraph("Calm sea in the morning.")
    made.add_table(rows=1, cols=2).cell(0, 0).text = "Oil"
    word = io.BytesIO()
    made.save(word)
    return {
        "x.docx": word.getvalue(),
        "x.pdf": pdf_with_stream_inflating_to(0),
        "x.html": html_paragraphs(20).encode(),
    }


SAMPLES = _samples()


@FUZZ
@given(
    name=st.sampled_from(sorted(SAMPLES)),
    cuts=st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=64)), min_size=1, max_size=4),
)
def test_mutated_documents_are_read_or_refused(name: str, cuts: list[tuple[float, bytes]]) -> None:
    data = SAMPLES[name]
    for where, replacement in cuts:
        at = int(where * len(data))
        data = data[:at] + replacement + data[at + len(replacement) :]
    _reads_or_refuses(data, name)


@FUZZ
@given(
    member=st.sampled_from(["word/document.xml", "word/styles.xml", "[Content_Types].xml"]),
    where=st.floats(0, 1),
    replacement=st.binary(max_size=64),
)
def test_word_files_with_mutated_xml_are_read_or_refused(
    member: str, where: float, replacement: bytes
) -> None:
    def mutate(xml: bytes) -> bytes:
        at = int(where * len(xml))
        return xml[:at] + replacement + xml[at + len(replacement) :]

    _reads_or_refuses(_word_file_with(member, mutate), "x.docx")
