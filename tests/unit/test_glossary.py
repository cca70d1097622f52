"""The translation glossary: whole-word, case-blind matching in any script, missing required
translations, and the CSV files people keep their glossaries in."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.tasks.glossary import (
    Glossary,
    GlossaryTerm,
    InvalidGlossary,
    glossary_from_pairs,
    glossary_to_csv,
    read_glossary_csv,
)

CAT = GlossaryTerm("cat", "chat")
INVOICE = GlossaryTerm("invoice", "facture")
NEW_YORK = GlossaryTerm("New York", "New York")


def test_terms_match_whole_words_in_any_case() -> None:
    glossary = Glossary((CAT, INVOICE, NEW_YORK))
    assert glossary.used_in("The CAT sat on the invoice.") == [CAT, INVOICE]
    assert glossary.used_in("Concatenate the invoices; scatter the cats.") == []
    assert glossary.used_in("Flights to new\n   york, cat-free.") == [CAT, NEW_YORK]
    assert glossary.used_in("") == []


def test_accented_and_german_terms() -> None:
    glossary = glossary_from_pairs([("Straße", "street"), ("déjà vu", "already seen")])
    assert [t.term for t in glossary.used_in("Die STRASSE ist lang.")] == ["Straße"]
    assert glossary.used_in("Die Hauptstraße ist lang.") == []  # part of a compound
    assert [t.term for t in glossary.used_in("Un sentiment de Déjà  vu.")] == ["déjà vu"]
    assert glossary.used_in("déjàvu") == []


def test_japanese_terms_match_without_spaces() -> None:
    glossary = glossary_from_pairs([("灯台", "lighthouse"), ("東京", "Tokyo")])
    assert [t.term for t in glossary.used_in("灯台守は毎晩日記を書いた。")] == ["灯台"]
    missing = glossary.missing_in("東京の灯台", "The lighthouse of Tokio")
    assert [t.term for t in missing] == ["東京"]


def test_missing_translations_are_reported() -> None:
    glossary = Glossary((CAT, INVOICE))
    source = "The cat ate the invoice."
    assert glossary.missing_in(source, "Le Chat a mangé la facture.") == []
    assert glossary.missing_in(source, "Le félin a mangé la facture.") == [CAT]
    assert glossary.missing_in(source, "Le chaton a mangé la note.") == [CAT, INVOICE]
    assert glossary.missing_in("Nothing here.", "Rien ici.") == []


def test_terms_with_punctuation_still_match() -> None:
    glossary = glossary_from_pairs([("C++", "C++"), ("e-mail", "courriel")])
    assert len(glossary.used_in("I write C++ and send an E-mail.")) == 2


def test_csv_with_a_header_blank_lines_and_commas_in_quotes() -> None:
    text = 'term,translation\n\ninvoice,facture\n"Hello, world","Bonjour, le monde"\n'
    glossary = read_glossary_csv(text)
    assert glossary.terms == (
        GlossaryTerm("invoice", "facture"),
        GlossaryTerm("Hello, world", "Bonjour, le monde"),
    )


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_csv_delimiters_are_recognised(delimiter: str) -> None:
    rows = [("source", "target"), ("Rechnung", "facture"), ("Leuchtturm", "phare")]
    text = "\r\n".join(delimiter.join(row) for row in rows)
    glossary = read_glossary_csv("\ufeff" + text)
    assert [(t.term, t.translation) for t in glossary.terms] == rows[1:]


def test_a_single_row_and_extra_columns() -> None:
    assert read_glossary_csv("chat;cat").terms == (GlossaryTerm("chat", "cat"),)
    glossary = read_glossary_csv("cat,chat,a note\ndog,chien,\n")
    assert [t.translation for t in glossary.terms] == ["chat", "chien"]
    assert read_glossary_csv("").terms == ()


def test_a_row_without_its_translation_names_its_line() -> None:
    text = "term,translation\ncat,chat\n\ndog\nbird,oiseau\n"
    with pytest.raises(InvalidGlossary) as raised:
        read_glossary_csv(text)
    assert raised.value.message == (
        "Line 4 of the glossary needs a term and its translation, separated by a comma."
    )
    with pytest.raises(InvalidGlossary, match=r"Line 2 .* separated by a semicolon"):
        read_glossary_csv("chat;cat\n;chien\n")


def test_a_term_given_twice_takes_its_later_translation() -> None:
    glossary = glossary_from_pairs(
        [("cat", "chat"), ("  ", "vide"), ("dog", ""), ("dog", "chien"), ("Cat", "matou")]
    )
    assert glossary.terms == (GlossaryTerm("Cat", "matou"), GlossaryTerm("dog", "chien"))


any_text = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=15)
csv_marks = st.text(st.sampled_from(list("ab ,;\t\"'\n")), min_size=1, max_size=8)
cells = st.one_of(any_text, csv_marks).filter(lambda cell: cell.strip() == cell and cell)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(cells, cells), max_size=8))
def test_csv_round_trip(pairs: list[tuple[str, str]]) -> None:
    glossary = glossary_from_pairs(pairs)
    assert read_glossary_csv(glossary_to_csv(glossary)) == glossary
