"""A translation glossary: terms the translation must render a given way ("Lantern" stays
"Lantern", "invoice" is always "facture"). The translator tells the model the terms a segment
uses, and checks afterwards which required translations are missing.

Terms match whole words, ignoring case ("cat" is in "Cat food", not in "concatenate"); a term
of several words matches across any run of whitespace, line breaks included. In scripts
written without spaces (Chinese, Japanese, Thai...) a term matches anywhere.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from desktop.errors import LanternError

DELIMITERS = ",;\t"
DELIMITER_NAMES = {",": "a comma", ";": "a semicolon", "\t": "a tab"}
SNIFF_CHARS = 8192
# A first row made of these names is a header, not a term.
HEADER_TERMS = frozenset({"term", "terms", "source", "source term", "original", "word"})
HEADER_TRANSLATIONS = frozenset({"translation", "translations", "target", "target term"})
# Scripts written without spaces between words: no word boundary to look for.
UNSPACED_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HALFWIDTH KATAKANA", "THAI", "LAO",
                    "KHMER", "MYANMAR", "TIBETAN")  # fmt: skip


class InvalidGlossary(LanternError, ValueError):
    """A glossary file Lantern cannot read, with the line to fix."""


@dataclass(frozen=True)
class GlossaryTerm:
    term: str
    translation: str


@dataclass(frozen=True)
class Glossary:
    terms: tuple[GlossaryTerm, ...] = ()

    def used_in(self, source: str) -> list[GlossaryTerm]:
        """The terms that occur in `source`, in glossary order."""
        folded = _folded(source)
        return [term for term in self.terms if _pattern(_folded(term.term)).search(folded)]

    def missing_in(self, source: str, translation: str) -> list[GlossaryTerm]:
        """The terms `source` uses whose required translation is not in `translation`."""
        folded = _folded(translation)
        return [
            term
            for term in self.used_in(source)
            if not _pattern(_folded(term.translation)).search(folded)
        ]


def glossary_from_pairs(pairs: Iterable[tuple[str, str]]) -> Glossary:
    """A glossary of (term, translation) pairs, as the table editor holds them: surrounding
    whitespace trimmed, rows with an empty cell skipped, and a term given twice (in any case)
    taking its later translation, at the place it first had."""
    by_term: dict[str, GlossaryTerm] = {}
    for term, translation in pairs:
        term, translation = term.strip(), translation.strip()
        if term and translation:
            by_term[_folded(term)] = GlossaryTerm(term, translation)  # a dict keeps the place
    return Glossary(tuple(by_term.values()))


def read_glossary_csv(text: str) -> Glossary:
    """A glossary from a CSV file's text: two columns, term then translation, separated by a
    comma, semicolon or tab. A header row ("term,translation", "source,target") and blank lines
    are skipped; further columns (notes, say) are ignored."""
    text = text.removeprefix("\ufeff")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    pairs: list[tuple[str, str]] = []
    last_line = 0
    for row in reader:
        line, last_line = last_line + 1, reader.line_num
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise InvalidGlossary(
                f"Line {line} of the glossary needs a term and its translation, "
                f"separated by {DELIMITER_NAMES[delimiter]}."
            )
        if not pairs and _is_header(cells[0], cells[1]):
            continue
        pairs.append((cells[0], cells[1]))
    return glossary_from_pairs(pairs)


def glossary_to_csv(glossary: Glossary) -> str:
    """The glossary as CSV with a header row, the way `read_glossary_csv` reads it back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["term", "translation"])
    writer.writerows((term.term, term.translation) for term in glossary.terms)
    return out.getvalue()


def _delimiter(text: str) -> str:
    """The header's delimiter where there is a header (so our own files always read back),
    else the one the csv module's sniffer finds, else the first line's."""
    sample = text[:SNIFF_CHARS]
    first_line = next((line for line in sample.splitlines() if line.strip()), "")
    for delimiter in DELIMITERS:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        if len(cells) >= 2 and _is_header(cells[0].strip(), cells[1].strip()):
            return delimiter
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:  # one column, one row, or no pattern
        return next((d for d in "\t;" if d in first_line), ",")


def _is_header(term: str, translation: str) -> bool:
    return term.casefold() in HEADER_TERMS and translation.casefold() in HEADER_TRANSLATIONS


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


@cache
def _pattern(folded_term: str) -> re.Pattern[str]:
    """Where the (case-folded) term stands as whole words in a case-folded text."""
    words = folded_term.split()
    if not words:
        return re.compile(r"(?!)")  # matches nothing
    body = r"\s+".join(re.escape(word) for word in words)
    first, last = words[0][0], words[-1][-1]
    before = r"(?<!\w)" if _needs_boundary(first) else ""
    after = r"(?!\w)" if _needs_boundary(last) else ""
    return re.compile(before + body + after)


def _needs_boundary(char: str) -> bool:
    """A term starting (ending) with a letter of a spaced script must not be preceded
    (followed) by another letter; punctuation ("C++") and unspaced scripts need no boundary."""
    is_word = char.isalnum() or char == "_"
    return is_word and not unicodedata.name(char, "").startswith(UNSPACED_SCRIPTS)
