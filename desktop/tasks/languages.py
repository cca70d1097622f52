"""Languages the user names for Translate and Summarize ("French", "fr", "fra"), and telling
offline which language a text is in.

A language's code is its ISO 639-1 code where it has one ("fr"), else its ISO 639-3 code
("yue"); its name is the English name people use ("Greek", not pycountry's "Modern Greek
(1453-)"). Detection runs py3langid's naive Bayes model on the first few thousand characters.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import pycountry

from desktop.errors import LanternError

DETECT_CHARS = 4000  # enough to tell, and the model's time grows with the text
MIN_PROBABILITY = 0.5  # below this the model is guessing
MIN_WORDS = 3  # shorter texts are too short to tell...
MIN_LETTERS = 10  # ...unless they have this many letters (a Japanese sentence has no spaces)
NO_LANGUAGE = frozenset({"zxx", "und"})  # py3langid's "no linguistic content", "undetermined"

# The English names people use, where pycountry's differ.
USUAL_NAMES = {"el": "Greek", "ht": "Haitian Creole", "ky": "Kyrgyz", "ms": "Malay",
               "ne": "Nepali", "or": "Odia", "pa": "Punjabi", "ps": "Pashto", "sw": "Swahili",
               "ug": "Uyghur", "grc": "Ancient Greek", "oc": "Occitan"}  # fmt: skip
# Other names people give them.
OTHER_NAMES = {"farsi": "fa", "mandarin": "zh", "cantonese": "yue", "filipino": "fil",
               "oriya": "or", "panjabi": "pa", "kirghiz": "ky", "pushto": "ps", "uighur": "ug",
               "modern greek": "el", "castilian": "es", "flemish": "nl"}  # fmt: skip
COMMON_CODES = ("ar", "bn", "ca", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr", "he",
                "hi", "hu", "id", "it", "ja", "ko", "ms", "nl", "no", "pl", "pt", "ro", "ru",
                "sv", "sw", "th", "tr", "uk", "ur", "vi", "zh")  # fmt: skip


class UnknownLanguage(LanternError, LookupError):
    """A language name or code Lantern cannot find."""


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1 where the language has one ("fr"), else ISO 639-3 ("yue")
    name: str  # its English name ("French")


def find_language(text: str) -> Language:
    """The language named by `text`: an English name or an ISO 639 code, in any case; a
    region or script after the code ("pt-BR", "zh_Hans") is ignored."""
    query = text.strip()
    if not query:
        raise UnknownLanguage("Give a language: a name or code, for example French or fr.")
    folded = query.casefold()
    # A code first: "en" is English, though a language of New Caledonia is called "En".
    for code in dict.fromkeys((folded, folded.replace("_", "-").split("-")[0])):
        record = _record_by_code(code)
        if record is not None:
            return _language(record)
    named = _codes_by_name().get(folded) or OTHER_NAMES.get(folded)
    if named is not None:
        return _language(_record(named))
    try:  # official names in other forms: "Chinese, Yue"
        return _language(pycountry.languages.lookup(query))
    except LookupError:
        raise UnknownLanguage(_unknown_message(query)) from None


def detect_language(text: str) -> Language | None:
    """The language `text` is written in, or None when it is too short to tell, has no
    letters, or the model is not sure."""
    sample = text[:DETECT_CHARS]
    letters = sum(char.isalpha() for char in sample)
    if letters == 0 or (len(sample.split()) < MIN_WORDS and letters < MIN_LETTERS):
        return None
    code, probability = _identifier().classify(sample)
    if code in NO_LANGUAGE or probability < MIN_PROBABILITY:
        return None
    try:
        return _language(_record(code))
    except LookupError:
        return None


def _record(code: str) -> Any:
    record = _record_by_code(code)
    if record is None:
        raise LookupError(code)
    return record


def _record_by_code(code: str) -> Any:
    if len(code) == 2:
        return pycountry.languages.get(alpha_2=code)
    if len(code) == 3:
        return pycountry.languages.get(alpha_3=code) or pycountry.languages.get(bibliographic=code)
    return None


def _language(record: Any) -> Language:
    code = getattr(record, "alpha_2", None) or record.alpha_3
    # "Swahili (macrolanguage)", "Occitan (post 1500)": the words in brackets are for experts.
    name = USUAL_NAMES.get(code) or record.name.split(" (")[0]
    return Language(code, name)


@cache
def _codes_by_name() -> dict[str, str]:
    """Every language's usual name, case-folded, with its code."""
    names: dict[str, str] = {}
    # Where brackets taken off make two names one ("Malay (macrolanguage)", "Malay (individual
    # language)"), the language with a two-letter code is the one people mean.
    records = sorted(pycountry.languages, key=lambda record: not hasattr(record, "alpha_2"))
    for record in records:
        language = _language(record)
        names.setdefault(language.name.casefold(), language.code)
    for code, name in USUAL_NAMES.items():
        names[name.casefold()] = code
    return names


def _unknown_message(query: str) -> str:
    message = f'"{query}" is not a language Lantern knows.'
    pool = [language.name for language in _two_letter_languages()]
    suggestions = difflib.get_close_matches(query.title(), pool, n=3, cutoff=0.75)
    if suggestions:
        message += f" Did you mean {' or '.join(suggestions)}?"
    return message + " Give a name or code, for example French or fr."


@cache
def _two_letter_languages() -> tuple[Language, ...]:
    """The languages with an ISO 639-1 code: the ones people are likely to mean."""
    return tuple(_language(r) for r in pycountry.languages if getattr(r, "alpha_2", None))


_identifier_lock = threading.Lock()
_loaded_identifier: Any = None


def _identifier() -> Any:
    """py3langid's model, loaded once (about a second) on first use, with probabilities
    normalized so that MIN_PROBABILITY means something."""
    global _loaded_identifier
    with _identifier_lock:  # two first callers on two threads load it once
        if _loaded_identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _loaded_identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _loaded_identifier


COMMON_LANGUAGES: tuple[Language, ...] = tuple(
    sorted((_language(_record(code)) for code in COMMON_CODES), key=lambda language: language.name)
)


def language_name(code: str) -> str:
    """The English name of a stored language code ("fr" -> "French"), or the code itself
    if Lantern does not know it."""
    try:
        return find_language(code).name
    except UnknownLanguage:
        return code
