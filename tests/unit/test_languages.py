"""Languages by name or code, and offline detection of the language a text is in (the real
py3langid model: it loads in about a second, once)."""

from __future__ import annotations

import pytest

from desktop.tasks.languages import (
    COMMON_LANGUAGES,
    Language,
    UnknownLanguage,
    detect_language,
    find_language,
)

FRENCH = Language("fr", "French")

SENTENCES = {
    "en": "The lighthouse keeper wrote in his journal every evening before he went to sleep.",
    "fr": "Le gardien du phare écrivait chaque soir dans son journal avant de s'endormir.",
    "de": "Der Leuchtturmwärter schrieb jeden Abend in sein Tagebuch, bevor er schlafen ging.",
    "es": "El farero escribía en su diario todas las noches antes de irse a dormir.",
    "ja": "灯台守は毎晩、眠る前に日記を書いていました。",
    "ru": "Смотритель маяка каждый вечер писал в своём дневнике, прежде чем лечь спать.",
}


@pytest.mark.parametrize("query", ["French", "french", " FRENCH ", "fr", "FR", "fra", "fre"])
def test_a_language_by_name_or_code(query: str) -> None:
    assert find_language(query) == FRENCH


def test_usual_names_other_names_and_regional_tags() -> None:
    assert find_language("Greek") == find_language("el") == Language("el", "Greek")
    assert find_language("Farsi") == Language("fa", "Persian")
    assert find_language("pt-BR") == Language("pt", "Portuguese")
    assert find_language("zh_Hans") == Language("zh", "Chinese")
    assert find_language("yue") == Language("yue", "Yue Chinese")  # no two-letter code
    assert find_language("Swahili").code == "sw"


def test_an_unknown_language_is_explained_with_a_suggestion() -> None:
    with pytest.raises(UnknownLanguage) as raised:
        find_language("Frnch")
    assert raised.value.message == (
        '"Frnch" is not a language Lantern knows. Did you mean French? '
        "Give a name or code, for example French or fr."
    )
    with pytest.raises(UnknownLanguage, match=r'^"qqq" is not a language Lantern knows\. Give'):
        find_language("qqq")
    with pytest.raises(UnknownLanguage, match="Give a language"):
        find_language("  ")


def test_common_languages_are_sorted_by_name_and_found_by_their_names() -> None:
    names = [language.name for language in COMMON_LANGUAGES]
    assert names == sorted(names) and len(names) >= 30
    assert {"English", "French", "Chinese", "Japanese", "Greek"} <= set(names)
    assert all(find_language(language.name) == language for language in COMMON_LANGUAGES)
    assert all(find_language(language.code) == language for language in COMMON_LANGUAGES)


@pytest.mark.parametrize("code", list(SENTENCES))
def test_clear_sentences_are_detected(code: str) -> None:
    detected = detect_language(SENTENCES[code])
    assert detected == find_language(code)


def test_detection_reads_only_the_beginning_of_a_long_text() -> None:
    long_text = (SENTENCES["fr"] + " ") * 100 + (SENTENCES["en"] + " ") * 1000
    assert detect_language(long_text) == FRENCH


@pytest.mark.parametrize(
    "text", ["", "   ", "1234 5678 9012", "Hello", "Guten Morgen", "ok yes", "--- *** ---"]
)
def test_too_little_to_tell(text: str) -> None:
    assert detect_language(text) is None
