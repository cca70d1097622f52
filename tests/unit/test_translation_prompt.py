"""What the model is sent for one segment of a translation (no model)."""

from __future__ import annotations

from desktop.services.translate import segment_messages
from desktop.tasks.glossary import glossary_from_pairs

GLOSSARY = glossary_from_pairs([("harbour", "port"), ("mayor", "maire")])


def test_a_segment_carries_the_glossary_terms_it_uses_and_the_segment_before() -> None:
    system, before, answer, ask = segment_messages(
        "The harbour was full.",
        source_language="en",
        target_language="fr",
        tone="formal",
        glossary=GLOSSARY,
        previous=("The mayor spoke.", "Le maire a parlé."),
    )
    assert system.role == "system" and "translation only" in system.content
    # The segment before, as an earlier turn: the model sees how it was translated.
    assert before.role == "user" and before.content.endswith("The mayor spoke.")
    assert (answer.role, answer.content) == ("assistant", "Le maire a parlé.")
    assert "from English into French" in ask.content and "formal tone" in ask.content
    assert '"harbour" is translated as "port"' in ask.content
    assert "mayor" not in ask.content  # only the terms this segment uses
    assert ask.content.endswith("The harbour was full.")
    assert "{" not in ask.content


def test_the_first_segment_of_an_unknown_language_asks_plainly() -> None:
    _system, ask = segment_messages(
        "Ciao a tutti.",
        source_language=None,
        target_language="de",
        tone="",
        glossary=GLOSSARY,
        previous=None,
    )
    assert "from its original language into German." in ask.content
    assert "translated as" not in ask.content and "tone" not in ask.content
