"""The shared shape of the writing tools' saved sessions (store/sessions.py): each repository
(summaries, translations, Playground runs) lists, searches, changes and deletes the same way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.store.db import Database
from desktop.store.playground import PlaygroundRuns
from desktop.store.sessions import SessionNotFound
from desktop.store.summaries import SummaryRepository
from desktop.store.translations import NewSegment, TranslationRepository


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "db.sqlite3")
    yield database
    database.close()


def summary(repository: SummaryRepository, title: str, text: str) -> int:
    return repository.create(
        title=title, source_name=None, source_hash=title, source_text=text, options={},
        model_id="m",
    ).id  # fmt: skip


def translation(repository: TranslationRepository, text: str) -> int:
    segment = NewSegment(text, "", text, True, "")
    return repository.create(
        title=text, source_name=None, source_hash=text, source_language="en",
        target_language="fr", tone="", glossary=[("cat", "chat")], model_id="m",
        segments=[segment],
    ).id  # fmt: skip


def test_a_session_starts_running_empty_and_a_change_says_how_it_ended(db: Database) -> None:
    summaries = SummaryRepository(db)
    started = summaries.get(summary(summaries, "Library", "The library opens in May."))
    assert (started.status, started.result, started.partials) == ("running", "", [])
    ended = summaries.change(started.id, status="complete", result="It opens in May.")
    assert (ended.status, ended.result) == ("complete", "It opens in May.")
    assert summaries.get(started.id).result == "It opens in May."
    runs = PlaygroundRuns(db)
    run = runs.create(title="t", mode="raw", setup={}, prompt="p", parameters={}, model_id="m")
    assert (run.output, run.tokens, run.status) == ("", [], "running")


def test_recent_is_newest_first_and_searches_each_tables_own_columns(db: Database) -> None:
    summaries = SummaryRepository(db)
    old = summary(summaries, "Library", "The library opens in May.")
    new = summary(summaries, "Harbour", "Boats sleep in the harbour.")
    assert [r.id for r in summaries.recent()] == [new, old]
    assert [r.id for r in summaries.recent("may")] == [old]  # in the source text
    assert summaries.recent("100%") == []  # LIKE wildcards are the user's words
    translations = TranslationRepository(db)
    cats = translation(translations, "The cat sleeps.")
    translation(translations, "The dog runs.")
    assert [r.id for r in translations.recent("cat sleeps")] == [cats]  # in a segment
    assert translations.get(cats).glossary == [("cat", "chat")]


def test_deleting_a_session_deletes_what_hangs_on_it_and_a_missing_one_is_named(
    db: Database,
) -> None:
    translations = TranslationRepository(db)
    cats = translation(translations, "The cat sleeps.")
    [segment] = translations.segments(cats)
    translations.delete(cats)
    with pytest.raises(SessionNotFound, match=f"There is no translation {cats}"):
        translations.get(cats)
    with pytest.raises(SessionNotFound, match="segment"):
        translations.segment(segment.id)
    with pytest.raises(SessionNotFound, match="There is no Playground run 7"):
        PlaygroundRuns(db).delete(7)
