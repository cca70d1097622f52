"""The text of a document the user gives the writing tools: plain text or Markdown in any
encoding, PDF, DOCX or HTML. Bytes in, text out (the caller reads the file, at most
`size_limit(name)` + 1 bytes of it): paragraphs are kept apart by blank lines, which is what
the chunker and the translator split on.

Documents are untrusted (ARCHITECTURE.md, rule 7): every reader works in one pass within
the limits below, so that any document is read or refused in seconds and well under 1 GB,
and anything Lantern cannot read gets an `UnreadableDocument` saying why and what to do.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from desktop.errors import LanternError

log = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text", ""})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
READABLE = ".txt, .md, .pdf, .docx and .html"
BINARY_SNIFF_BYTES = 8192  # a NUL byte in the first 8 KB: not text
MANY_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
WHITESPACE = re.compile(r"\s+")
HTML_BLOCKS = frozenset({"p", "div", "section", "article", "header", "footer", "aside", "main",
                         "nav", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd",
                         "blockquote", "pre", "table", "tr", "caption", "figcaption", "br",
                         "hr"})  # fmt: skip
HTML_HIDDEN = frozenset({"script", "style", "noscript", "template", "head", "title"})

MB = 1024 * 1024
# The most text Lantern holds for one document: about 1,000 pages, more than a writing tool
# gets through in a sitting, and what the text box can show without stalling the window.
MAX_CHARACTERS = 2_000_000
# What a file may weigh before it is read. PDF and Word files carry pictures and fonts beside
# their text (an illustrated book is tens of MB); HTML is mostly markup; a text file past
# 8 MB has more than MAX_CHARACTERS characters in any encoding (4 bytes a character at most).
SIZE_LIMITS = {"pdf": 100 * MB, "docx": 100 * MB, "html": 20 * MB, "text": 8 * MB}
# A Word file is a zip that python-docx unpacks whole into memory (pictures too) and whose
# XML parts it parses into trees: both bounded before it opens the file.
DOCX_UNPACKED_LIMIT = 200 * MB
DOCX_XML_LIMIT = 32 * MB  # Word's XML is a few times its text: this is past MAX_CHARACTERS
DOCX_PARTS_LIMIT = 5_000
# python-docx takes a tenth of a millisecond for each paragraph's text: a 1,000-page book has
# some 20,000 paragraphs, a hostile file millions of empty ones.
DOCX_PARAGRAPHS_LIMIT = 50_000
PDF_PAGES_LIMIT = 5_000  # pypdf takes milliseconds a page: thousands are already a minute
# pypdf's own bound on what one stream may inflate to, for every filter (6.4 and later): past
# it, pypdf raises LimitReachedError. Named here for the message.
PDF_STREAM_LIMIT = 75_000_000
HTML_FEED_CHARACTERS = MB  # the HTML parser gets the markup in pieces, the text is counted


class UnreadableDocument(LanternError):
    """A document the writing tools cannot take, with what the user can do instead."""


@dataclass(frozen=True)
class Document:
    name: str
    kind: str  # "text", "markdown", "pdf", "docx" or "html"
    text: str
    encoding: str | None = None  # for text and HTML: the one it was read in

    @property
    def words(self) -> int:
        return len(self.text.split())


def size_limit(name: str) -> int:
    """The most bytes Lantern reads of a document called `name`: read one more to know."""
    return SIZE_LIMITS[_size_kind(name)]


def read_document(data: bytes, name: str) -> Document:
    """The document's text; `name` (a file name, or e.g. "pasted text") gives its kind."""
    suffix = PurePath(name).suffix.lower()
    if not data.strip():
        raise UnreadableDocument(f"{name} is empty.")
    if len(data) > size_limit(name):
        raise UnreadableDocument(too_large(name, len(data)))
    if suffix == ".pdf":
        document = Document(name, "pdf", _pdf_text(data, name))
    elif suffix == ".docx":
        document = Document(name, "docx", _docx_text(data, name))
    elif suffix in HTML_SUFFIXES:
        text, encoding = _decoded(data, name)
        document = Document(name, "html", _html_text(text, name), encoding)
    elif suffix in TEXT_SUFFIXES or not _looks_binary(data):
        text, encoding = _decoded(data, name)
        kind = "markdown" if suffix in (".md", ".markdown") else "text"
        document = Document(name, kind, text, encoding)
    else:
        raise UnreadableDocument(f"Lantern cannot read {name}: it reads {READABLE} files.")
    text = _tidy(document.text)
    if not text:
        raise UnreadableDocument(_no_text(name, document.kind))
    if len(text) > MAX_CHARACTERS:
        raise UnreadableDocument(_too_long(name))
    return Document(document.name, document.kind, text, document.encoding)


def too_large(name: str, size: int) -> str:
    """What the user reads when a document of `size` bytes is past its kind's limit."""
    kind = _size_kind(name)
    what = {"pdf": "PDF", "docx": "Word", "html": "HTML", "text": "text"}[kind]
    return (
        f"{name} is {_megabytes(size)}; Lantern reads {what} files up to "
        f"{_megabytes(SIZE_LIMITS[kind])}. Split it into smaller files, or paste the part "
        "you need."
    )


def _size_kind(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    if suffix in (".pdf", ".docx"):
        return suffix[1:]
    return "html" if suffix in HTML_SUFFIXES else "text"


def _megabytes(size: int) -> str:
    return f"{size / MB:,.0f} MB" if size >= 10 * MB else f"{size / MB:,.1f} MB"


def _too_long(name: str) -> str:
    return (
        f"{name} has more than {MAX_CHARACTERS:,} characters of text (about 1,000 pages), "
        "more than Lantern takes at once. Split it into smaller files, or paste the part "
        "you need."
    )


class _TextBudget:
    """Text gathered piece by piece, refused as soon as it passes MAX_CHARACTERS: a reader
    stops there instead of building a text that would be refused anyway."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pieces: list[str] = []
        self._length = 0

    def add(self, piece: str) -> None:
        self._length += len(piece)
        if self._length > MAX_CHARACTERS:
            raise UnreadableDocument(_too_long(self.name))
        self.pieces.append(piece)


@contextmanager
def _reading(name: str, damaged: str) -> Iterator[None]:
    """Whatever a reader library raises on a broken or hostile file (its own errors, lxml's,
    zipfile's, KeyError, RecursionError...), the user gets `damaged`, not a traceback."""
    try:
        yield
    except UnreadableDocument:
        raise
    except MemoryError as exc:
        raise UnreadableDocument(
            f"{name} needs more memory to read than this computer has free. "
            "Split it into smaller files, or paste the part you need."
        ) from exc
    except Exception as exc:
        log.warning("Cannot read %s", name, exc_info=True)
        raise UnreadableDocument(damaged) from exc


def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


def _decoded(data: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (with or without a BOM), UTF-16 with its BOM, else the most likely encoding."""
    from charset_normalizer import from_bytes

    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass  # a BOM by chance, or a damaged file: guess as for any other text
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _looks_binary(data):
        raise UnreadableDocument(
            f"{name} looks like a binary file, not text. Lantern reads {READABLE} files."
        )
    match = from_bytes(data).best()
    if match is None:
        raise UnreadableDocument(
            f"Cannot tell the text encoding of {name}. Save it as UTF-8 and open it again."
        )
    return str(match), match.encoding


def _pdf_text(data: bytes, name: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    budget = _TextBudget(name)
    damaged = (
        f"{name} is not a PDF Lantern can read: it may be damaged. Open it in a PDF viewer, "
        "print or save it to a new PDF, and open that."
    )
    with _reading(name, damaged):
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise UnreadableDocument(
                    f"{name} is protected by a password. Save an unprotected copy and open that."
                )
            pages = len(reader.pages)
            if pages > PDF_PAGES_LIMIT:
                raise UnreadableDocument(
                    f"{name} has {pages:,} pages; Lantern reads PDFs of up to "
                    f"{PDF_PAGES_LIMIT:,} pages. Split it into smaller files."
                )
            for page in reader.pages:
                budget.add(page.extract_text() or "")
        except LimitReachedError as exc:
            # pypdf's own bounds (ARCHITECTURE: pypdf>=6.4): a stream that would inflate
            # past them is a decompression bomb, or a file no writer needs.
            raise UnreadableDocument(
                f"{name} has a part that unpacks to more than "
                f"{_megabytes(PDF_STREAM_LIMIT)}, the most Lantern unpacks. Print or save it "
                "to a new PDF, and open that."
            ) from exc
    return "\n\n".join(budget.pieces)


def _docx_text(data: bytes, name: str) -> str:
    import docx

    damaged = (
        f"{name} is not a Word document Lantern can read: it may be damaged. Open it in "
        "Word or LibreOffice, save it again as .docx, and open that."
    )
    budget = _TextBudget(name)
    with _reading(name, damaged):
        _check_word_package(data, name)
        document = docx.Document(io.BytesIO(data))
        _check_paragraph_count(document.element.body, name)
        for paragraph in document.paragraphs:
            budget.add(paragraph.text)
        for table in document.tables:  # after the body text: python-docx keeps them apart
            for row in table.rows:
                budget.add(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n\n".join(budget.pieces)


def _check_word_package(data: bytes, name: str) -> None:
    """Refuse a zip bomb before python-docx unpacks it: the sizes the zip declares bound
    what zipfile will inflate (it stops at the declared size and checks the CRC)."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        members = package.infolist()
    if len(members) > DOCX_PARTS_LIMIT:
        raise UnreadableDocument(
            f"{name} is a zip of {len(members):,} parts; Lantern opens Word documents of up "
            f"to {DOCX_PARTS_LIMIT:,}. Save it again as .docx in Word or LibreOffice."
        )
    unpacked = sum(member.file_size for member in members)
    xml = sum(m.file_size for m in members if m.filename.lower().endswith((".xml", ".rels")))
    if unpacked > DOCX_UNPACKED_LIMIT or xml > DOCX_XML_LIMIT:
        raise UnreadableDocument(
            f"{name} unpacks to {_megabytes(unpacked)} ({_megabytes(xml)} of it text and "
            f"layout); Lantern opens Word documents that unpack to at most "
            f"{_megabytes(DOCX_UNPACKED_LIMIT)} ({_megabytes(DOCX_XML_LIMIT)} of text and "
            "layout). Split it into smaller files, or paste the part you need."
        )


def _check_paragraph_count(body: Any, name: str) -> None:
    paragraphs = int(body.xpath("count(.//w:p)"))  # counted by libxml2, not in Python
    if paragraphs > DOCX_PARAGRAPHS_LIMIT:
        raise UnreadableDocument(
            f"{name} has {paragraphs:,} paragraphs; Lantern reads Word documents of up to "
            f"{DOCX_PARAGRAPHS_LIMIT:,}. Split it into smaller files, or paste the part you "
            "need."
        )


class _HtmlText:
    """lxml's HTML parser calls these as it reads (no tree is built): text inside a block
    element is one paragraph; nothing inside script, style, head and the like is kept."""

    def __init__(self, budget: _TextBudget) -> None:
        self._budget = budget
        self._hidden = 0  # how many hidden elements the parser is inside

    def start(self, tag: str, attrib: object) -> None:
        if tag in HTML_HIDDEN:
            self._hidden += 1
        if tag in HTML_BLOCKS:
            self._budget.add("\n\n")

    def end(self, tag: str) -> None:
        if tag in HTML_HIDDEN and self._hidden:
            self._hidden -= 1
        if tag in HTML_BLOCKS:
            self._budget.add("\n\n")

    def data(self, data: str) -> None:
        if not self._hidden:
            # Inside a paragraph the source's line breaks and indentation are only spaces,
            # as a browser shows them.
            self._budget.add(WHITESPACE.sub(" ", data))

    def close(self) -> None:
        return None


def _html_text(markup: str, name: str) -> str:
    """One pass of lxml's HTML parser (libxml2: linear on any input, no recursion in Python,
    however deep the nesting), fed in pieces so that the text budget stops it early."""
    from lxml import etree

    budget = _TextBudget(name)
    damaged = f"{name} is not an HTML page Lantern can read. Save it as text, and open that."
    with _reading(name, damaged):
        parser = etree.HTMLParser(
            target=_HtmlText(budget), recover=True, huge_tree=True, no_network=True
        )
        for start in range(0, len(markup), HTML_FEED_CHARACTERS):
            parser.feed(markup[start : start + HTML_FEED_CHARACTERS])
        parser.close()
    paragraphs = (" ".join(part.split()) for part in PARAGRAPH_BREAK.split("".join(budget.pieces)))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def _tidy(text: str) -> str:
    """Unix newlines, no trailing spaces, paragraphs apart by exactly one blank line."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return MANY_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _no_text(name: str, kind: str) -> str:
    if kind == "pdf":
        return (
            f"{name} has no text to read: it may be scanned pages (images). "
            "Run it through OCR first, or paste its text."
        )
    return f"{name} has no text in it."


@dataclass(frozen=True)
class SourceText:
    """What a writing tool works on: a document's text, or text the user pasted."""

    text: str
    name: str | None = None  # the file it came from; None when pasted

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()
