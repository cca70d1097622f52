"""The text of a document the user gives the writing tools or a library: plain text,
Markdown or source code in any encoding, PDF, DOCX or HTML. Bytes in, text out (the caller
reads the file, at most `size_limit(name)` + 1 bytes of it): paragraphs are kept apart by
blank lines, which is what the chunker and the translator split on. Beside the text, where a
PDF's pages start in it and the headings it has (Markdown, HTML, Word), for passages that
say where they come from.

Documents are untrusted (ARCHITECTURE.md, rule 7): every reader works in one pass within
the limits below, so that any document is read or refused in seconds and well under 1 GB,
and anything Lantern cannot read gets an `UnreadableDocument` saying why and what to do.
"""

from __future__ import annotations

import hashlib
import io
import logging
import posixpath
import re
import struct
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePath
from typing import Any

from desktop.errors import LanternError

log = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text", ""})
# Source code and other files that are plain text, read as such (a library indexes them).
PLAIN_TEXT_SUFFIXES = frozenset({
    ".py", ".pyi", ".js", ".jsx", ".mjs", ".ts", ".tsx", ".c", ".h", ".cc", ".cpp", ".hpp",
    ".cs", ".rs", ".go", ".java", ".kt", ".scala", ".swift", ".rb", ".php", ".pl", ".lua", ".r",
    ".sql", ".sh", ".bash", ".zsh", ".ps1", ".bat", ".css", ".scss", ".xml", ".svg", ".json",
    ".yaml", ".yml", ".toml", ".csv", ".tsv", ".rst", ".adoc", ".tex", ".bib", ".org", ".ini",
    ".cfg", ".conf", ".properties", ".log", ".srt", ".vtt",
})  # fmt: skip
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
# Files without a suffix a library reads: most such files in a folder are programs or data.
PLAIN_TEXT_NAMES = frozenset({"readme", "license", "copying", "authors", "changelog", "notice",
                              "makefile", "dockerfile"})  # fmt: skip
READABLE = ".txt, .md, .pdf, .docx and .html"
BINARY_SNIFF_BYTES = 8192  # a NUL byte in the first 8 KB: not text
MANY_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
WHITESPACE = re.compile(r"\s+")
NON_SPACE = re.compile(r"\S+")
WORD_HEADING = re.compile(r"heading ([1-9])")  # Word's built-in style names, lower case
HTML_HEADINGS = {f"h{level}": level for level in range(1, 7)}
# A line that may be a Markdown heading (ATX "# ", or a setext underline): a document
# without one is not parsed for headings.
MARKDOWN_HEADING_LINE = re.compile(r"^ {0,3}(?:#{1,6}(?:[ \t]|$)|=+[ \t]*$|-+[ \t]*$)", re.M)
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
# zipfile reads a zip's whole directory, and makes an object of each entry in it, before
# anything can be counted: a 100 MB zip may list 2 million entries of 47 bytes. A Word
# file's parts take well under a kilobyte each there.
DOCX_DIRECTORY_LIMIT = DOCX_PARTS_LIMIT * 1024
# python-docx takes a tenth of a millisecond for each paragraph's text: a 1,000-page book has
# some 20,000 paragraphs, a hostile file millions of empty ones.
DOCX_PARAGRAPHS_LIMIT = 50_000
# Word gives every table cell a paragraph, so a document within the paragraph limit has
# fewer cells; more (cells merged into others, with none) is a file made to be slow.
DOCX_CELLS_LIMIT = DOCX_PARAGRAPHS_LIMIT
PDF_PAGES_LIMIT = 5_000  # pypdf takes milliseconds a page: thousands are already a minute
# pypdf parses in Python, about 1 MB a second, each content stream that can show text, and
# a form XObject's content again each time a content draws it: one stream shown on every
# page, or one form drawn a thousand times, is an hour from a few KB of file. What it would
# parse is counted before it starts. Text takes 4 to 15 bytes of content a character, so
# this is past MAX_CHARACTERS, and half a minute of parsing at most.
PDF_CONTENT_LIMIT = 32 * MB
PDF_FORM_OVERHEAD = 1024  # pypdf's work to parse a form (its resources, its fonts), as bytes
# pypdf's own bound on what one stream may inflate to, for every filter (6.4 and later): past
# it, pypdf raises LimitReachedError. Named here for the message.
PDF_STREAM_LIMIT = 75_000_000
HTML_FEED_CHARACTERS = MB  # the HTML parser gets the markup in pieces, the text is counted

WORD = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
# The cells that continue a merged cell above them (Word's vMerge: "continue" unless it
# says "restart").
CONTINUED_MERGES = ".//w:tc[w:tcPr/w:vMerge[not(@w:val) or @w:val = 'continue']]"
ZIP_END = struct.Struct("<4s4H2LH")  # the end of central directory record
ZIP64_LOCATOR = struct.Struct("<4sLQL")
ZIP64_END = struct.Struct("<4sQ2H2L4Q")
# pypdf parses no content without one of these operators (it cannot show text).
PDF_TEXT_OPERATORS = (b"Tj", b"TJ", b"Do", b"'", b'"')
_PDF_TOKEN_START = rb"(?:\A|(?<=[\s)\]>}]))"
_PDF_TOKEN_END = rb"(?![^\s()<>\[\]{}/%])"
# A string on one line without parentheses in it ("(Do not remove) Tj"): what it holds
# is no operator, and no comment or string can start before it and end after it.
PDF_SHORT_STRING = re.compile(rb"\((?:[^()\\\r\n]|\\.)*\)")
# Every "Do" that may be the operator that draws an XObject (and a few that are not).
PDF_DRAWING = re.compile(rb"(?<![A-Za-z/])Do" + _PDF_TOKEN_END)
_PDF_OPERATOR = rb"[A-Za-z'\"][^\s()<>\[\]{}/%]*"
_PDF_DRAWN_NAME = rb"/([^\x00-\x20\x7f-\xff()<>\[\]{}/%#]+)"
_PDF_THEN_DO = rb"(?=Do" + _PDF_TOKEN_END + rb")"  # left for the next drawing's operator
# "cm /Im1 Do": a plain name right after an operator, so the only operand of its "Do".
PDF_DRAWING_BY_NAME = re.compile(
    _PDF_TOKEN_START + _PDF_OPERATOR + rb"\s+" + _PDF_DRAWN_NAME + rb"\s+" + _PDF_THEN_DO
)
# The same where a comment could hide operands: all on one line, or from an operator that
# starts its line.
PDF_DRAWING_BY_NAME_BESIDE_COMMENTS = re.compile(
    _PDF_TOKEN_START + _PDF_OPERATOR + rb"[ \t]+" + _PDF_DRAWN_NAME + rb"[ \t]+" + _PDF_THEN_DO
    + rb"|(?:\A|(?<=[\r\n]))[ \t]*" + _PDF_OPERATOR + rb"\s+" + _PDF_DRAWN_NAME + rb"\s+"
    + _PDF_THEN_DO
)  # fmt: skip


class UnreadableDocument(LanternError):
    """A document the writing tools cannot take, with what the user can do instead."""


@dataclass(frozen=True)
class Heading:
    start: int  # where it starts in the document's text (its first non-space character)
    level: int  # 1 to 6 (Markdown, HTML), 1 to 9 (Word); a Word document's Title is 0
    title: str


@dataclass(frozen=True)
class Document:
    name: str
    kind: str  # "text", "markdown", "pdf", "docx" or "html"
    text: str
    encoding: str | None = None  # for text and HTML: the one it was read in
    pages: tuple[int, ...] = ()  # a PDF's: where each page's text starts in `text`
    # HTML's and Word's headings, marked as they are read; Markdown's are parsed from the
    # text when first asked for (only a library asks: a hostile file of 500,000 "#" lines
    # takes markdown-it seconds, which Summarize and Translate need not spend).
    marked_headings: tuple[Heading, ...] = ()

    @property
    def words(self) -> int:
        return len(self.text.split())

    @cached_property
    def headings(self) -> tuple[Heading, ...]:
        """In the order of the text."""
        if self.kind == "markdown":
            return tuple(_markdown_headings(self.text))
        return self.marked_headings


@dataclass
class _Read:
    """A reader's text before it is tidied, and what is marked in it, each mark given as the
    number of non-whitespace characters before it: tidying removes only whitespace, so that
    number finds the mark again in the tidy text."""

    text: str
    pages: list[int] = field(default_factory=list)
    headings: list[tuple[int, int, str]] = field(default_factory=list)  # (mark, level, title)

    def marked(self, name: str, kind: str, encoding: str | None = None) -> Document:
        """The document, its text tidy and its marks where they fall in it."""
        text = _tidy(self.text)
        if not text:
            raise UnreadableDocument(_no_text(name, kind))
        if len(text) > MAX_CHARACTERS:
            raise UnreadableDocument(_too_long(name))
        pages = _at_non_space(text, self.pages)
        starts = _at_non_space(text, [mark for mark, _, _ in self.headings])
        headings = [
            Heading(start, level, title)
            for start, (_, level, title) in zip(starts, self.headings, strict=True)
            if start < len(text)
        ]
        return Document(name, kind, text, encoding, tuple(pages), tuple(headings))


def is_library_document(name: str) -> bool:
    """Whether a library reads the file called `name`: the kinds Lantern reads, source code
    and other plain text; not hidden files, nor the lock files office programs leave."""
    path = PurePath(name)
    if path.name.startswith((".", "~$")):
        return False
    suffix = path.suffix.lower()
    if not suffix:
        return path.name.lower() in PLAIN_TEXT_NAMES
    readable = TEXT_SUFFIXES | PLAIN_TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".docx"}
    return suffix in readable


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
        return _pdf_text(data, name).marked(name, "pdf")
    if suffix == ".docx":
        return _docx_text(data, name).marked(name, "docx")
    if suffix in HTML_SUFFIXES:
        text, encoding = _decoded(data, name)
        return _html_text(text, name).marked(name, "html", encoding)
    plain = suffix in TEXT_SUFFIXES or suffix in PLAIN_TEXT_SUFFIXES
    if plain or not _looks_binary(data):
        text, encoding = _decoded(data, name)
        kind = "markdown" if suffix in MARKDOWN_SUFFIXES else "text"
        return _Read(text).marked(name, kind, encoding)
    raise UnreadableDocument(f"Lantern cannot read {name}: it reads {READABLE} files.")


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
    # NUL is valid UTF-8, but no text file holds one: bytes with NULs are a program's.
    if _looks_binary(data):
        raise UnreadableDocument(
            f"{name} looks like a binary file, not text. Lantern reads {READABLE} files."
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    match = from_bytes(data).best()
    if match is None:
        raise UnreadableDocument(
            f"Cannot tell the text encoding of {name}. Save it as UTF-8 and open it again."
        )
    return str(match), match.encoding


def _pdf_text(data: bytes, name: str) -> _Read:
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
            parsing = _PdfParsing(name)
            for page in reader.pages:
                parsing.add(page)
            starts, before = [], 0
            for page in reader.pages:
                starts.append(before)
                text = page.extract_text() or ""
                budget.add(text)
                before += _non_space(text)
        except LimitReachedError as exc:
            # pypdf's own bounds (ARCHITECTURE: pypdf>=6.4): a stream that would inflate
            # past them is a decompression bomb, or a file no writer needs.
            raise UnreadableDocument(
                f"{name} has a part that unpacks to more than "
                f"{_megabytes(PDF_STREAM_LIMIT)}, the most Lantern unpacks. Print or save it "
                "to a new PDF, and open that."
            ) from exc
    return _Read("\n\n".join(budget.pieces), pages=starts)


class _PdfParsing:
    """What pypdf will parse to extract a PDF's text, counted before it parses any: each
    page's content, and a form XObject's content each time a content draws it. A drawing by
    a plain name counts the form of that name; any other "Do" counts the costliest form the
    content could draw. A form drawn inside itself counts nothing, as pypdf skips it; one
    drawn inside a form it draws counts as endless (what it costs depends on the path)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.total = 0
        self._forms: dict[int, tuple[Any, int]] = {}  # id -> (form, what a drawing costs)
        self._drawing: list[int] = []  # the forms being counted, each drawn by the one before
        self._costliest: dict[int, tuple[Any, int]] = {}  # id of a page's /XObject -> cost

    def add(self, page: Any) -> None:
        contents = page.get_contents()
        if contents is not None:
            self.total += self._content(contents.get_data(), page.get_inherited("/Resources"))
        if self.total > PDF_CONTENT_LIMIT:
            raise UnreadableDocument(
                f"{self.name} has more than {_megabytes(PDF_CONTENT_LIMIT)} of page content "
                "to go through (a part counted each time a page shows it), more than Lantern "
                "reads at once. Split it into smaller files, or print it to a new PDF and "
                "open that."
            )

    def _content(self, data: bytes, resources: Any) -> int:
        """What pypdf parses for `data` and the forms it draws, in bytes (once past the
        limit, any number past it)."""
        if not any(operator in data for operator in PDF_TEXT_OPERATORS):
            return 0
        cost = len(data)
        if cost > PDF_CONTENT_LIMIT or b"Do" not in data:
            return cost
        xobjects = _pdf_dictionary(resources, "/XObject")
        data = PDF_SHORT_STRING.sub(b"()", data)  # text saying "Do", not drawing
        unnamed = PDF_DRAWING.subn(b"", data)[1]
        by_name = PDF_DRAWING_BY_NAME_BESIDE_COMMENTS if b"%" in data else PDF_DRAWING_BY_NAME
        named = Counter(name for match in by_name.finditer(data) for name in match.groups() if name)
        for drawn, times in named.items():
            unnamed -= times
            form = _pdf_form(xobjects.get("/" + drawn.decode()))
            if form is not None:
                cost += times * self._form(form)
        if unnamed and xobjects:
            cost += unnamed * self._costliest_form(xobjects)
        return min(cost, PDF_CONTENT_LIMIT + 1)

    def _form(self, form: Any) -> int:
        """What pypdf parses each time a content draws `form`."""
        key = id(form)
        if key in self._drawing:
            return 0 if key == self._drawing[-1] else PDF_CONTENT_LIMIT + 1
        if key not in self._forms:
            self._drawing.append(key)
            parsed = self._content(form.get_data(), form.get_inherited("/Resources"))
            self._drawing.pop()
            cost = parsed + PDF_FORM_OVERHEAD if parsed else 0  # a figure without text: 0
            self._forms[key] = (form, min(cost, PDF_CONTENT_LIMIT + 1))
        return self._forms[key][1]

    def _costliest_form(self, xobjects: Any) -> int:
        """The most one drawing of a form in `xobjects` costs: kept for a page's, which
        pages often share (a form's own is worked out once, with the form)."""
        if id(xobjects) in self._costliest:
            return self._costliest[id(xobjects)][1]
        costliest = 0
        for value in xobjects.values():
            form = _pdf_form(value)
            costliest = max(costliest, self._form(form) if form is not None else 0)
            if costliest > PDF_CONTENT_LIMIT:
                break
        if not self._drawing:
            self._costliest[id(xobjects)] = (xobjects, costliest)
        return costliest


def _pdf_dictionary(dictionary: Any, key: str) -> Any:
    """`dictionary[key]` where both are PDF dictionaries, else an empty one."""
    from pypdf.generic import DictionaryObject

    value = _pdf_object(dictionary)
    value = _pdf_object(value.get(key)) if isinstance(value, DictionaryObject) else None
    return value if isinstance(value, DictionaryObject) else DictionaryObject()


def _pdf_form(value: Any) -> Any:
    """The form XObject `value` is, else None: pypdf draws any stream but an image."""
    from pypdf.generic import StreamObject

    value = _pdf_object(value)
    is_form = isinstance(value, StreamObject) and value.get("/Subtype") != "/Image"
    return value if is_form else None


def _pdf_object(value: Any) -> Any:
    """`value`, or the object it refers to."""
    from pypdf.generic import PdfObject

    return value.get_object() if isinstance(value, PdfObject) else value


def _docx_text(data: bytes, name: str) -> _Read:
    import docx

    damaged = (
        f"{name} is not a Word document Lantern can read: it may be damaged. Open it in "
        "Word or LibreOffice, save it again as .docx, and open that."
    )
    budget = _TextBudget(name)
    with _reading(name, damaged):
        _check_word_package(data, name)
        document = docx.Document(io.BytesIO(data))
        body = document.element.body
        _check_word_counts(body, name)
        levels = _word_heading_levels(document)
        headings, before = [], 0
        for paragraph in document.paragraphs:
            text = paragraph.text
            level = levels.get(paragraph._p.style or "")
            if level is not None and text.strip():
                headings.append((before, level, " ".join(text.split())))
            budget.add(text)
            before += _non_space(text)
        continued = set(body.xpath(CONTINUED_MERGES))  # found by libxml2, not in Python
        for table in body.iterchildren(WORD + "tbl"):  # after the body text, as before
            for line in _row_lines(table, continued):
                budget.add(line)
    return _Read("\n\n".join(budget.pieces), headings=headings)


def _word_heading_levels(document: Any) -> dict[str, int]:
    """The heading level of each paragraph style that is a heading, by style id: Word names
    its built-in styles in English whatever the language ("heading 1"; "Title" above them),
    and python-docx gives those names capitalized."""
    levels = {}
    for style in document.styles:
        name = (style.name or "").lower()
        heading = WORD_HEADING.fullmatch(name)
        if heading is not None or name == "title":
            levels[style.style_id] = int(heading.group(1)) if heading else 0
    return levels


def _row_lines(table: Any, continued: set[Any]) -> Iterator[str]:
    """A table's rows, a line each (its cells' text apart by " | "), each followed by the
    rows of the tables inside its cells. Read from the XML in one pass: python-docx follows
    each merged cell up to the cell it continues, row by row (minutes for 300 rows). A cell
    in `continued` shows the merged cell above it: it has no text of its own."""
    for row in table.iterchildren(WORD + "tr"):
        cells = list(row.iterchildren(WORD + "tc"))
        yield " | ".join("" if cell in continued else _cell_text(cell) for cell in cells)
        for cell in cells:
            for inner in cell.iterchildren(WORD + "tbl") if cell not in continued else ():
                yield from _row_lines(inner, continued)


def _cell_text(cell: Any) -> str:
    """The text of a cell's paragraphs, as python-docx gives each (its CT_P elements)."""
    return "\n".join(paragraph.text for paragraph in cell.iterchildren(WORD + "p")).strip()


def _check_word_package(data: bytes, name: str) -> None:
    """Refuse a zip bomb before python-docx unpacks it: the sizes the zip declares bound
    what zipfile will inflate (it stops at the declared size and checks the CRC). What
    python-docx parses is XML by its content type, whatever the part's name."""
    directory = _zip_directory_size(data)
    if directory > DOCX_DIRECTORY_LIMIT:
        raise UnreadableDocument(
            f"{name} is a zip whose list of parts takes {_megabytes(directory)}, room for far "
            f"more than the {DOCX_PARTS_LIMIT:,} parts Lantern opens in a Word document. "
            "Save it again as .docx in Word or LibreOffice."
        )
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        members = package.infolist()
        if len(members) > DOCX_PARTS_LIMIT:
            raise UnreadableDocument(
                f"{name} is a zip of {len(members):,} parts; Lantern opens Word documents of "
                f"up to {DOCX_PARTS_LIMIT:,}. Save it again as .docx in Word or LibreOffice."
            )
        content_types = package.getinfo("[Content_Types].xml")
        xml = content_types.file_size  # past the limit by itself: not read
        if xml <= DOCX_XML_LIMIT:
            is_xml = _word_xml_parts(package.read(content_types))
            xml = sum(member.file_size for member in members if is_xml(member.filename))
    unpacked = sum(member.file_size for member in members)
    if unpacked > DOCX_UNPACKED_LIMIT or xml > DOCX_XML_LIMIT:
        raise UnreadableDocument(
            f"{name} unpacks to {_megabytes(unpacked)} ({_megabytes(xml)} of it text and "
            f"layout); Lantern opens Word documents that unpack to at most "
            f"{_megabytes(DOCX_UNPACKED_LIMIT)} ({_megabytes(DOCX_XML_LIMIT)} of text and "
            "layout). Split it into smaller files, or paste the part you need."
        )


def _zip_directory_size(data: bytes) -> int:
    """How many bytes of directory zipfile will read (and make an object of every 47 of),
    from the end record found where zipfile looks for it: the last 22 bytes, else the last
    one in the 64 KB of comment it may have; zip64's record before it is trusted first."""
    end = len(data) - ZIP_END.size
    if not (data.startswith(b"PK\x05\x06", max(end, 0)) and data.endswith(b"\x00\x00")):
        end = data.rfind(b"PK\x05\x06", max(end - (1 << 16), 0))
    if end < 0 or end + ZIP_END.size > len(data):
        return 0  # not a zip: zipfile says so
    size: int = ZIP_END.unpack_from(data, end)[5]
    locator = end - ZIP64_LOCATOR.size
    record = locator - ZIP64_END.size
    zip64 = data.startswith(b"PK\x06\x07", locator) and data.startswith(b"PK\x06\x06", record)
    if record >= 0 and zip64:
        size = ZIP64_END.unpack_from(data, record)[8]
    return min(size, len(data))


def _word_xml_parts(content_types: bytes) -> Callable[[str], bool]:
    """Which members of a Word package count as XML: [Content_Types].xml and the
    relationships (python-docx parses those by name), and each part whose content type
    (its Override in [Content_Types].xml, else the Default for its extension) is XML, or
    that has none."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    types = etree.fromstring(content_types, parser)
    overrides = {
        override.get("PartName", "").lower(): override.get("ContentType", "")
        for override in types.iterchildren(CONTENT_TYPES + "Override")
    }
    defaults = {
        default.get("Extension", "").lower(): default.get("ContentType", "")
        for default in types.iterchildren(CONTENT_TYPES + "Default")
    }

    def is_xml(member: str) -> bool:
        if member == "[Content_Types].xml" or member.lower().endswith(".rels"):
            return True
        part = "/" + member.lower()
        kind = overrides.get(part, defaults.get(posixpath.splitext(part)[1][1:]))
        return kind is None or kind.strip().lower().endswith("xml")

    return is_xml


def _check_word_counts(body: Any, name: str) -> None:
    """Refuse a body of more paragraphs or table cells than Lantern reads: counted by
    libxml2, before Python touches any."""
    for element, what, limit in (
        ("w:p", "paragraphs", DOCX_PARAGRAPHS_LIMIT),
        ("w:tc", "table cells", DOCX_CELLS_LIMIT),
    ):
        count = int(body.xpath(f"count(.//{element})"))
        if count > limit:
            raise UnreadableDocument(
                f"{name} has {count:,} {what}; Lantern reads Word documents of up to "
                f"{limit:,}. Split it into smaller files, or paste the part you need."
            )


class _HtmlText:
    """lxml's HTML parser calls these as it reads (no tree is built): text inside a block
    element is one paragraph; nothing inside script, style, head and the like is kept.
    Only what the text will hold is counted: one break between paragraphs, however many
    blocks open and close there, and a space between words, however much whitespace."""

    def __init__(self, budget: _TextBudget) -> None:
        self._budget = budget
        self._hidden = 0  # how many hidden elements the parser is inside
        self._at_break = True  # at the start, or after a paragraph break
        self._at_space = True  # there, or after whitespace
        self._before = 0  # non-whitespace characters in the text so far
        self._heading: tuple[int, int, list[str]] | None = None  # (mark, level, its text)
        self.headings: list[tuple[int, int, str]] = []  # (mark, level, title), as _Read's

    def start(self, tag: str, attrib: object) -> None:
        if tag in HTML_HIDDEN:
            self._hidden += 1
        if tag in HTML_BLOCKS:
            self._break()
        if tag in HTML_HEADINGS:
            self._end_heading()
            self._heading = (self._before, HTML_HEADINGS[tag], [])

    def end(self, tag: str) -> None:
        if tag in HTML_HIDDEN and self._hidden:
            self._hidden -= 1
        if tag in HTML_BLOCKS:
            self._break()
        if tag in HTML_HEADINGS:
            self._end_heading()

    def data(self, data: str) -> None:
        if self._hidden:
            return
        # Inside a paragraph the source's line breaks and indentation are only spaces, as
        # a browser shows them.
        text = WHITESPACE.sub(" ", data)
        if text == " " and self._at_space:
            return
        self._budget.add(text)
        self._at_break = False
        self._at_space = text.endswith(" ")
        self._before += len(text) - text.count(" ")
        if self._heading is not None:
            self._heading[2].append(text)

    def _end_heading(self) -> None:
        if self._heading is not None:
            mark, level, pieces = self._heading
            title = " ".join("".join(pieces).split())
            if title:
                self.headings.append((mark, level, title))
            self._heading = None

    def _break(self) -> None:
        if not self._at_break:
            self._budget.add("\n\n")
            self._at_break = self._at_space = True

    def close(self) -> None:
        return None


def _html_text(markup: str, name: str) -> _Read:
    """One pass of lxml's HTML parser (libxml2: linear on any input, no recursion in Python,
    however deep the nesting), fed in pieces so that the text budget stops it early."""
    from lxml import etree

    budget = _TextBudget(name)
    text = _HtmlText(budget)
    damaged = f"{name} is not an HTML page Lantern can read. Save it as text, and open that."
    with _reading(name, damaged):
        parser = etree.HTMLParser(target=text, recover=True, huge_tree=True, no_network=True)
        for start in range(0, len(markup), HTML_FEED_CHARACTERS):
            parser.feed(markup[start : start + HTML_FEED_CHARACTERS])
        parser.close()
    paragraphs = (" ".join(part.split()) for part in PARAGRAPH_BREAK.split("".join(budget.pieces)))
    return _Read("\n\n".join(p for p in paragraphs if p), headings=text.headings)


def _tidy(text: str) -> str:
    """Unix newlines, no trailing spaces, paragraphs apart by exactly one blank line: only
    whitespace is taken out (what _Read's marks count on)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return MANY_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _non_space(text: str) -> int:
    return sum(map(len, text.split()))


def _at_non_space(text: str, marks: list[int]) -> list[int]:
    """For each mark (ascending), the offset in `text` of the non-whitespace character with
    that many before it; len(text) for a mark past the last. One pass over `text`."""
    offsets = []
    runs = NON_SPACE.finditer(text)
    run = next(runs, None)
    before = 0  # non-whitespace characters before `run`
    for mark in marks:
        while run is not None and before + run.end() - run.start() <= mark:
            before += run.end() - run.start()
            run = next(runs, None)
        offsets.append(len(text) if run is None else run.start() + mark - before)
    return offsets


def _markdown_headings(text: str) -> list[Heading]:
    """The headings markdown-it finds (ATX and setext, at any depth of quotes and lists; a
    "#" line in a code block is none), each starting at its first character that is not a
    space."""
    if MARKDOWN_HEADING_LINE.search(text) is None:
        return []  # no line could be one: the parse is skipped
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").disable("inline").parse(text)
    found = [
        (token.map[0], int(token.tag[1:]), " ".join(tokens[index + 1].content.split()))
        for index, token in enumerate(tokens)
        if token.type == "heading_open" and token.map is not None
    ]
    headings, line, offset = [], 0, 0
    for number, level, title in found:
        while line < number:  # ascending: each line's start is found once
            offset = text.index("\n", offset) + 1
            line += 1
        start = offset
        while text.startswith((" ", "\t"), start):
            start += 1
        if title:
            headings.append(Heading(start, level, title))
    return headings


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
