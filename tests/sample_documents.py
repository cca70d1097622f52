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


def docx_inflating_to(size: int) -> bytes:
    """A Word file (a zip) whose word/document.xml inflates to about `size` bytes of valid
    XML from a zip of about size/1000 bytes: one paragraph element repeated."""
    import io
    import zipfile

    paragraph = b"<w:p><w:r><w:t>The keeper counted the ships again.</w:t></w:r></w:p>"
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
        b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    )
    tail = b"</w:body></w:document>"
    block = paragraph * (1024 * 1024 // len(paragraph))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr("[Content_Types].xml", _DOCX_CONTENT_TYPES)
        package.writestr("_rels/.rels", _DOCX_RELS)
        with package.open("word/document.xml", "w", force_zip64=True) as document:
            document.write(head)
            for _ in range(max(1, size // len(block))):
                document.write(block)
            document.write(tail)
    return out.getvalue()


_DOCX_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_DOCX_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def _pdf(contents: list[Any]) -> bytes:
    """A PDF with one page per content stream, each with Helvetica as /F1."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for content in contents:
        page = writer.add_blank_page(width=612, height=792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_pages(*pages: str) -> bytes:
    """A PDF whose pages each hold one line of text in Helvetica."""
    from pypdf.generic import DecodedStreamObject

    contents = []
    for text in pages:
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1"))
        contents.append(stream)
    return _pdf(contents)


def pdf_with_stream_inflating_to(size: int) -> bytes:
    """A one-page PDF whose content stream (FlateDecode) inflates to `size` bytes of spaces
    from about size/1000 bytes on disk."""
    import zlib

    from pypdf.generic import NameObject, StreamObject

    stream = StreamObject()
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    compressor = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    deflated = b"".join(compressor.compress(block) for _ in range(size // len(block)))
    stream._data = deflated + compressor.flush()
    return _pdf([stream])
