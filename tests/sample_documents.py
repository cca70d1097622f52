"""Documents for the writing tools' tests and benchmark, generated: a chronicle of invented
harbour towns, each paragraph about one town with its own name, year and numbers, so that
a summary's coverage can be traced to the paragraph each fact came from."""

from __future__ import annotations

import random
from typing import Any

_TOWNS = [
    "Quillon",
    "Amberhavn",
    "Corrowick",
    "Dunmarra",
    "Estwold",
    "Farrowgate",
    "Glimmerby",
    "Harnfleet",
    "Ivelmoor",
    "Jessaport",
    "Kelderwyn",
    "Lathmere",
    "Morrowby",
    "Nettlecombe",
    "Orrinsholm",
    "Pellacourt",
    "Quarrendon",
    "Rushwater",
    "Saltmarrow",
    "Thistlebay",
    "Ulverstrand",
    "Vessingham",
    "Wrenhollow",
    "Yarrowdene",
    "Zennor",
]
_TRADES = ("salt", "amber", "wool", "timber", "herring", "copper", "slate", "linen", "rope")
_EVENTS = (
    "a storm destroyed half of the harbour wall",
    "the town council voted to build a lighthouse on the northern cliffs",
    "a fire in the rope works burned for three days",
    "the river silted up and ships had to anchor outside the bar",
    "a new road over the hills joined the town to the market at Kessel",
    "the fishermen formed a guild and fixed the price of herring",
    "a plague of rats ruined the winter stores of grain",
    "the old bridge collapsed under a cart loaded with slate",
)
_AFTER = (
    "The townspeople rebuilt what they had lost within {n} years.",
    "It took {n} years before trade returned to what it had been.",
    "The chronicle records {n} families leaving for the cities that year.",
    "The harbour master wrote {n} letters to the duke asking for help.",
)


def chronicle(paragraphs: int, seed: int = 7) -> str:
    """`paragraphs` paragraphs separated by blank lines, about 90 words each."""
    rng = random.Random(seed)
    parts = []
    for index in range(paragraphs):
        town = _TOWNS[index % len(_TOWNS)] + ("" if index < len(_TOWNS) else f" {index}")
        year = 1400 + index * 7
        trade, event = rng.choice(_TRADES), rng.choice(_EVENTS)
        people = rng.randint(300, 9000)
        after = rng.choice(_AFTER).format(n=rng.randint(2, 30))
        parts.append(
            f"In the year {year} the town of {town} had {people} inhabitants, and most of them "
            f"lived from the {trade} trade. That spring {event}. {after} The mayor of {town}, "
            f"whose name the chronicle gives as {rng.choice(_TOWNS)}-{rng.randint(1, 99)}, "
            f"kept a careful account of every ship that came to the quay and of every tax "
            f"that was paid, and those accounts survive in the archive to this day."
        )
    return "\n\n".join(parts)


def short_paragraphs(count: int) -> str:
    """`count` one-sentence paragraphs, separated by blank lines: quick to translate."""
    return "\n\n".join(
        f"The ship from {_TOWNS[i % len(_TOWNS)]} reached the harbour on day {i + 1}."
        if i % 3 == 0
        else f"The mayor of {_TOWNS[i % len(_TOWNS)]} counted {i + 3} barrels of salt."
        for i in range(count)
    )


def word_file(document: Any) -> bytes:
    """The bytes of a python-docx document, as a .docx file holds them."""
    import io

    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# ---- hostile documents: each small on disk, and each refused or read fast ----


def html_paragraphs(count: int) -> str:
    """A page of `count` short paragraphs."""
    return (
        "<html><body>"
        + "".join(f"<p>Line {i} of the log.</p>" for i in range(count))
        + "</body></html>"
    )


def html_nested_divs(depth: int) -> str:
    """One sentence `depth` <div>s deep (and closed again)."""
    return "<div>" * depth + "The keeper slept." + "</div>" * depth


def html_empty_paragraphs(count: int) -> str:
    """A page of `count` paragraphs holding only a space, then one sentence: markup with
    next to no text, as a page laid out with empty blocks is."""
    return "<p> </p>\n" * count + "<p>The keeper slept.</p>"


def docx_inflating_to(size: int, part: str = "word/document.xml") -> bytes:
    """A Word file (a zip) whose word/document.xml inflates to about `size` bytes of valid
    XML from a zip of about size/1000 bytes: one paragraph element repeated. The document
    may be kept under another name (`part`): its content type says what it is."""
    paragraph = b"<w:p><w:r><w:t>The keeper counted the ships again.</w:t></w:r></w:p>"
    block = paragraph * (1024 * 1024 // len(paragraph))
    return _docx_package([block] * max(1, size // len(block)), part)


def docx_with_body(body: str) -> bytes:
    """A Word file whose document body is the WordprocessingML `body`."""
    return _docx_package([body.encode()])


def docx_table_merged_down(rows: int, columns: int) -> bytes:
    """A Word file of one table: a first row of `columns` harbours, and `rows` - 1 rows
    whose every cell is merged into the cell above it (a vMerge that continues), written
    as small as Word allows: 5 KB for 300 rows of 30 columns."""
    first = "".join(
        f'<w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>{town}</w:t>'
        "</w:r></w:p></w:tc>"
        for town in (_TOWNS * (columns // len(_TOWNS) + 1))[:columns]
    )
    merged = "<w:tc><w:tcPr><w:vMerge/></w:tcPr></w:tc>" * columns
    return docx_with_body(
        f"<w:tbl><w:tr>{first}</w:tr>" + f"<w:tr>{merged}</w:tr>" * (rows - 1) + "</w:tbl>"
    )


def zip_listing(entries: int) -> bytes:
    """A zip whose directory lists one empty file `entries` times (47 bytes each), with a
    zip64 end record, the one zipfile trusts, giving the directory's true size: the plain
    end record beside it says the directory is empty."""
    import struct

    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, 0, 0, 0, 1, 0) + b"a"
    listed = (
        struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, 0, 0, 0, 1, 0, 0, 0,
                    0, 0, 0) + b"a"
    )  # fmt: skip
    directory = listed * entries
    start, size = len(local), len(directory)
    zip64_end = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, size, start
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, start + size, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0, start + size, 0)
    return local + directory + zip64_end + locator + end


_DOCX_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
    b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)
_DOCX_TAIL = b"</w:body></w:document>"


def _docx_package(body: list[bytes], part: str = "word/document.xml") -> bytes:
    """The smallest Word package python-docx opens: its main document, in `part`, is the
    pieces of `body` inside <w:body>, written one after the other (a bomb never whole)."""
    import io
    import zipfile

    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    relationships = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/officeDocument" Target="{part}"/></Relationships>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr("[Content_Types].xml", content_types)
        package.writestr("_rels/.rels", relationships)
        with package.open(part, "w", force_zip64=True) as document:
            document.write(_DOCX_HEAD)
            for piece in body:
                document.write(piece)
            document.write(_DOCX_TAIL)
    return out.getvalue()


def _pdf(contents: list[Any], forms: dict[str, Any] | None = None) -> bytes:
    """A PDF with one page per content stream (a stream given twice is one object, shared),
    each page and each of `forms` (form XObjects by name) with Helvetica as /F1 and every
    one of `forms` to draw."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    drawn = DictionaryObject()
    resources = DictionaryObject(
        {
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): font}),
            NameObject("/XObject"): drawn,
        }
    )
    for name, form in (forms or {}).items():
        form[NameObject("/Type")] = NameObject("/XObject")
        form[NameObject("/Subtype")] = NameObject("/Form")
        form[NameObject("/BBox")] = ArrayObject(NumberObject(n) for n in (0, 0, 612, 792))
        form[NameObject("/Resources")] = resources
        drawn[NameObject(name)] = writer._add_object(form)
    for content in contents:
        page = writer.add_blank_page(width=612, height=792)
        page[NameObject("/Resources")] = resources
        page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_pages(*pages: str, letterhead: str | None = None) -> bytes:
    """A PDF whose pages each hold one line of text in Helvetica, below the `letterhead`
    (a form XObject every page draws) where there is one."""
    head = "q /Letterhead Do Q\n" if letterhead else ""
    contents = [_plain(f"{head}BT /F1 12 Tf 72 720 Td ({text}) Tj ET") for text in pages]
    forms = {"/Letterhead": _plain(f"BT /F1 14 Tf 72 740 Td ({letterhead}) Tj ET")}
    return _pdf(contents, forms if letterhead else None)


def pdf_with_stream_inflating_to(size: int) -> bytes:
    """A one-page PDF whose content stream (FlateDecode) inflates to `size` bytes of spaces
    from about size/1000 bytes on disk."""
    return _pdf([_deflated(b" ", size)])


# Text operators that show nothing: pypdf parses them (about 1 MB a second) for no text.
_SHOWING_NOTHING = b"BT () Tj ET\n"


def pdf_pages_sharing_content(pages: int, size: int) -> bytes:
    """A PDF of `pages` pages that all show one content stream, which inflates to `size`
    bytes of text operators that show nothing."""
    return _pdf([_deflated(_SHOWING_NOTHING, size)] * pages)


def pdf_drawing_a_form(times: int, size: int) -> bytes:
    """A one-page PDF that draws one form XObject `times` times; the form's content
    inflates to `size` bytes of text operators that show nothing."""
    drawing = b"q /Figure Do Q\n"
    page = _deflated(drawing, times * len(drawing))
    return _pdf([page], {"/Figure": _deflated(_SHOWING_NOTHING, size)})


def pdf_with_a_stamp(times: int, unused: int) -> bytes:
    """A one-page PDF that says "Do it." and draws a small form (a stamp) `times` times
    each, the drawings on lines of their own as reportlab writes them, beside a form of
    `unused` bytes of text operators that it never draws."""
    says = " (Do it.) Tj" * times
    page = _plain(f"BT /F1 12 Tf 72 720 Td (To Do:) Tj{says} ET" + "\n/Stamp Do" * times)
    forms = {
        "/Stamp": _plain("BT /F1 10 Tf 400 60 Td (Approved) Tj ET"),
        "/Archive": _deflated(_SHOWING_NOTHING, unused),
    }
    return _pdf([page], forms)


def pdf_with_forms_drawing(drawings: dict[str, str]) -> bytes:
    """A one-page PDF that draws the first of its forms; each form (by name) shows its
    name and draws the form it names in `drawings`: itself, or another."""
    forms = {
        name: _plain(f"BT /F1 12 Tf 72 720 Td ({name[1:]}) Tj ET q {drawn} Do Q")
        for name, drawn in drawings.items()
    }
    return _pdf([_plain(f"q {next(iter(drawings))} Do Q")], forms)


def _plain(content: str) -> Any:
    """A stream of `content`, not compressed."""
    from pypdf.generic import DecodedStreamObject

    stream = DecodedStreamObject()
    stream.set_data(content.encode("latin-1"))
    return stream


def _deflated(unit: bytes, size: int) -> Any:
    """A FlateDecode stream of `unit` repeated to `size` bytes, deflated a megabyte at a
    time (a 100 MB stream is 100 KB)."""
    import zlib

    from pypdf.generic import NameObject, StreamObject

    stream = StreamObject()
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    compressor = zlib.compressobj(9)
    block = unit * (1024 * 1024 // len(unit))
    blocks, rest = divmod(size, len(block))
    deflated = [compressor.compress(block) for _ in range(blocks)]
    deflated.append(compressor.compress(unit * (rest // len(unit))) + compressor.flush())
    stream._data = b"".join(deflated)
    return stream
