"""Hostile and broken documents (issue 16, point 3): each is built here, small on disk, and
each is read or refused with a message that says what is wrong, without unpacking what it
claims to hold; whatever the reader libraries raise, the user gets an UnreadableDocument."""

from __future__ import annotations

import io
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
    html_nested_divs,
    html_paragraphs,
    pdf_with_stream_inflating_to,
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


# ---- Word: the zip's sizes checked before python-docx opens it ----


def test_a_word_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    bomb = docx_inflating_to(100 * MB)
    assert len(bomb) < 2 * MB  # what the user has on disk
    messages: list[str] = []
    peak = peak_python_memory(lambda: messages.append(refusal(bomb, "report.docx")))
    assert messages == [
        "report.docx unpacks to 100 MB (100 MB of it text and layout); Lantern opens Word "
        "documents that unpack to at most 200 MB (32 MB of text and layout). Split it into "
        "smaller files, or paste the part you need."
    ]
    assert peak < 10 * MB  # nothing was unpacked


def test_a_word_file_of_too_many_paragraphs_is_refused() -> None:
    message = refusal(docx_inflating_to(8 * MB), "list.docx")
    assert message.startswith("list.docx has 123,360 paragraphs;")
    assert "Lantern reads Word documents of up to 50,000" in message


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
