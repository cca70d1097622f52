"""The text of a document the user gives the writing tools: plain text or Markdown in any
encoding, PDF, DOCX or HTML. Bytes in, text out (the caller reads the file): paragraphs are
kept apart by blank lines, which is what the chunker and the translator split on.

Anything Lantern cannot read gets an `UnreadableDocument` saying why and what to do.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import PurePath

from desktop.errors import LanternError

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text", ""})
READABLE = ".txt, .md, .pdf, .docx and .html"
BINARY_SNIFF_BYTES = 8192  # a NUL byte in the first 8 KB: not text
MANY_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
HTML_BLOCKS = ["p", "div", "section", "article", "header", "footer", "aside", "main", "nav",
               "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "blockquote", "pre",
               "table", "tr", "caption", "figcaption", "br", "hr"]  # fmt: skip


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


def read_document(data: bytes, name: str) -> Document:
    """The document's text; `name` (a file name, or e.g. "pasted text") gives its kind."""
    suffix = PurePath(name).suffix.lower()
    if not data.strip():
        raise UnreadableDocument(f"{name} is empty.")
    if suffix == ".pdf":
        document = Document(name, "pdf", _pdf_text(data, name))
    elif suffix == ".docx":
        document = Document(name, "docx", _docx_text(data, name))
    elif suffix in (".html", ".htm", ".xhtml"):
        text, encoding = _decoded(data, name)
        document = Document(name, "html", _html_text(text), encoding)
    elif suffix in TEXT_SUFFIXES or not _looks_binary(data):
        text, encoding = _decoded(data, name)
        kind = "markdown" if suffix in (".md", ".markdown") else "text"
        document = Document(name, kind, text, encoding)
    else:
        raise UnreadableDocument(f"Lantern cannot read {name}: it reads {READABLE} files.")
    text = _tidy(document.text)
    if not text:
        raise UnreadableDocument(_no_text(name, document.kind))
    return Document(document.name, document.kind, text, document.encoding)


def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


def _decoded(data: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (with or without a BOM), UTF-16 with its BOM, else the most likely encoding."""
    from charset_normalizer import from_bytes

    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
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
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(
                f"{name} is protected by a password. Save an unprotected copy and open that."
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableDocument(f"{name} is not a PDF Lantern can read ({exc}).") from exc
    return "\n\n".join(pages)


def _docx_text(data: bytes, name: str) -> str:
    from zipfile import BadZipFile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableDocument(f"{name} is not a Word document Lantern can read.") from exc
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:  # after the body text: python-docx keeps them apart
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n\n".join(parts)


def _html_text(markup: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for hidden in soup(["script", "style", "noscript", "template", "head"]):
        hidden.decompose()
    # A block element is a paragraph of its own; inside one, the source's line breaks and
    # indentation are only spaces (as a browser shows them).
    for block in soup(HTML_BLOCKS):
        block.insert_before("\n\n")
        block.insert_after("\n\n")
    paragraphs = (" ".join(part.split()) for part in PARAGRAPH_BREAK.split(soup.get_text()))
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
