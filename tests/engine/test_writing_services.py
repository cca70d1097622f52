"""Summarize and translate through their services, on the real starter model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sample_documents import chronicle, short_paragraphs

from desktop.tasks.documents import SourceText
from desktop.tasks.glossary import glossary_from_pairs
from desktop.tasks.languages import find_language
from desktop.tasks.summary import SummaryOptions

pytestmark = pytest.mark.engine

ONE_SENTENCE = SummaryOptions(length="sentence")
RUNES = "ᚺᚨᚱᛒᛟᚱ"  # a required translation no flag can be right about by luck


@pytest.fixture
def small_context(lantern_home: Path) -> None:
    """A 512-token context: a few pages are then several times what the model can take, and
    the notes on them too many for one step."""
    from desktop.paths import app_paths
    from desktop.settings import Settings, save_settings

    save_settings(app_paths().settings_file, Settings(context_length=512))


def test_a_text_that_fits_is_summarized_in_one_pass(lantern: Any) -> None:
    run = lantern.summarize.summarize(SourceText(chronicle(2)), ONE_SENTENCE)
    events = list(run)
    streamed = "".join(e.text for e in events if type(e).__name__ == "SummaryPiece")
    record = run.outcome.record
    assert run.outcome.status == "complete"
    assert record.result == streamed.strip() and record.result
    assert len(record.plan["chunks"]) == 1 and record.timings["passes"] == 1
    assert [s["kind"] for s in record.timings["steps"]] == ["final"]
    assert lantern.summarize.sessions("Quillon")[0].id == record.id


def test_a_document_several_times_the_context_is_covered_part_by_part(
    small_context: None, lantern: Any
) -> None:
    text = chronicle(9)
    run = lantern.summarize.summarize(SourceText(text, "chronicle.txt"), ONE_SENTENCE)
    events = list(run)
    record = run.outcome.record
    assert run.outcome.status == "complete", record.error
    plan = run.plan
    assert plan.tokens > 2 * plan.context_length
    # The chunks cover the text end to end, in order, each within the model's budget.
    assert "".join(chunk.text for chunk in plan.chunks) == text
    assert all(chunk.tokens <= plan.chunk_tokens for chunk in plan.chunks)
    # Every chunk was read and gave notes, and the summary was written from all of them.
    parts = len(plan.chunks)
    assert parts >= 4
    assert len(record.partials) == parts and all(note.strip() for note in record.partials)
    kinds = [step["kind"] for step in record.timings["steps"]]
    assert kinds[:parts] == ["part"] * parts and kinds[-1] == "final"
    # Notes too long together for the summary step are merged first, round by round.
    with lantern.summarize.preview_lease(lantern.models.choose()) as model:
        notes_tokens = sum(model.count_tokens(note) + 2 for note in record.partials)
    merged = notes_tokens > plan.final_budget
    assert ("combine" in kinds) == merged
    assert record.timings["passes"] >= (3 if merged else 2)
    steps = [e for e in events if type(e).__name__ == "StepStarted"]
    assert [s.step for s in steps] == list(range(1, len(kinds) + 1))
    assert steps[0].label == f"Reading part 1 of {parts}"
    assert any(s.eta_s is not None and s.eta_s > 0 for s in steps[1:])
    assert record.result
    # Stored as planned: the chunk plan, and where each chunk lies in the source.
    assert [tuple(c) for c in record.plan["chunks"]] == [
        (c.start, c.end, c.tokens) for c in plan.chunks
    ]

    # Another version in another format reads no part again: the notes are the same.
    bullets = SummaryOptions(length="sentence", format="bullets")
    again = lantern.summarize.summarize(SourceText(text, "chronicle.txt"), bullets)
    list(again)
    second = again.outcome.record
    assert again.outcome.status == "complete" and second.result
    assert second.timings["reused_notes"] == parts and second.partials == record.partials
    assert "part" not in [step["kind"] for step in second.timings["steps"]]
    assert [v.id for v in lantern.summarize.versions(second.id)] == [record.id, second.id]


def test_cancel_keeps_the_notes_written_so_far(small_context: None, lantern: Any) -> None:
    run = lantern.summarize.summarize(SourceText(chronicle(9)), ONE_SENTENCE)
    for event in run:
        if type(event).__name__ == "NotesDone":
            run.cancel()
    outcome = run.outcome
    assert outcome.status == "cancelled"
    assert 1 <= len(outcome.record.partials) < len(run.plan.chunks)
    stored = lantern.summarize.session(outcome.record.id)
    assert stored.status == "cancelled" and stored.partials == outcome.record.partials

    # Run again, it goes on from the part the cancelled one had reached.
    again = lantern.summarize.summarize(SourceText(chronicle(9)), ONE_SENTENCE)
    kinds = []
    for event in again:
        if type(event).__name__ == "StepStarted":
            kinds.append(event.label)
            again.cancel()  # one step is enough to see where it starts
    done = len(stored.partials)
    assert again.outcome.record.timings["reused_notes"] == done
    assert kinds == [f"Reading part {done + 1} of {len(run.plan.chunks)}"]


def test_twelve_paragraphs_become_twelve_aligned_segments(lantern: Any) -> None:
    text = short_paragraphs(12)
    options = _to_french()
    run = lantern.translate.start(SourceText(text), options)
    done = [e.segment for e in run if type(e).__name__ == "SegmentDone"]
    record, segments = lantern.translate.session(run.translation_id)
    assert run.outcome.status == "complete" and record.status == "complete"
    assert [s.position for s in segments] == list(range(12))
    assert [s.source for s in segments] == text.split("\n\n")
    assert all(s.status == "done" and s.translation for s in segments)
    assert [s.id for s in done] == [s.id for s in segments]
    assert record.source_language == "en" and record.target_language == "fr"


def test_a_missing_glossary_term_is_flagged_and_an_edit_using_it_clears_the_flag(
    lantern: Any,
) -> None:
    text = "The harbour was full of ships.\n\nThe mayor counted the barrels."
    options = _to_french(glossary=glossary_from_pairs([("harbour", RUNES)]))
    run = lantern.translate.start(SourceText(text), options)
    list(run)
    _, (harbour, mayor) = lantern.translate.session(run.translation_id)
    # The flag follows what the model wrote: the required word is in it, or it is flagged.
    assert harbour.missing_terms == ([] if RUNES in harbour.translation else ["harbour"])
    assert mayor.missing_terms == []  # the term is not in this segment's source
    missed = lantern.translate.edit_segment(harbour.id, "Le port était plein de navires.")
    assert missed.status == "edited" and missed.missing_terms == ["harbour"]
    edited = lantern.translate.edit_segment(harbour.id, f"Le {RUNES} était plein de navires.")
    assert edited.status == "edited" and edited.missing_terms == []
    assert f"Le {RUNES} était plein" in lantern.translate.translated_document(run.translation_id)


def test_cancel_keeps_finished_segments_and_resume_translates_the_rest(lantern: Any) -> None:
    run = lantern.translate.start(SourceText(short_paragraphs(4)), _to_french())
    for event in run:
        if type(event).__name__ == "SegmentDone":
            run.cancel()
    assert run.outcome.status == "cancelled"
    _, segments = lantern.translate.session(run.translation_id)
    assert segments[0].status == "done" and segments[0].translation
    assert all(s.status in ("pending", "partial") for s in segments[1:])
    kept = segments[0].translation

    again = lantern.translate.resume(run.translation_id)
    started = [e.position for e in again if type(e).__name__ == "SegmentStarted"]
    record, segments = lantern.translate.session(run.translation_id)
    assert started == [1, 2, 3] and record.status == "complete"
    assert segments[0].translation == kept
    assert all(s.status == "done" for s in segments)


def test_markdown_structure_and_code_survive_translation(lantern: Any) -> None:
    text = "# The harbour\n\n- salt\n- rope\n\n```\nprint('harbour')\n```\n\nShips came in."
    run = lantern.translate.start(SourceText(text), _to_french())
    list(run)
    document = lantern.translate.translated_document(run.translation_id)
    assert document.startswith("# ")
    assert "\n- " in document
    assert "```\nprint('harbour')\n```" in document
    _, segments = lantern.translate.session(run.translation_id)
    assert [s.translatable for s in segments] == [True, True, True, False, True]


def _to_french(**changes: Any) -> Any:
    from desktop.services.translate import TranslationOptions

    return TranslationOptions(target=find_language("French"), **changes)
