from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from desktop.errors import PresetNotFound
from desktop.store.db import MIGRATIONS, Database
from desktop.store.downloads import DownloadRepository
from desktop.store.presets import PresetRepository
from desktop.store.repositories import ConversationRepository, MessageRepository
from desktop.store.search import MATCH_END, MATCH_START, MessageSearch, fts_query
from desktop.store.summaries import SummaryRepository
from desktop.store.translations import TranslationRepository


def test_migrations_build_the_schema_from_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Database(path).close()
    with sqlite3.connect(path) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = raw.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert {"conversations", "messages", "downloads", "alembic_version"} <= tables
    assert {"summaries", "translations", "translation_segments"} <= tables
    assert {"playground_runs", "playground_presets"} <= tables
    assert {"libraries", "library_sources", "library_files", "passages", "embedders"} <= tables
    assert {"conversation_libraries", "message_sources"} <= tables
    assert version == "0006_documents"


def test_a_database_from_the_first_release_gains_the_queue_and_search(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001_baseline")  # the schema the foundation release made
    engine.dispose()
    with sqlite3.connect(path) as raw:
        raw.execute(
            "INSERT INTO conversations (title, created_at, updated_at) "
            "VALUES ('kept', '2026-11-01', '2026-11-01')"
        )
        raw.execute(
            "INSERT INTO messages (conversation_id, role, content, status, created_at, "
            "updated_at) VALUES (1, 'user', 'about lighthouses', 'complete', '2026-11-01', "
            "'2026-11-01')"
        )
    db = Database(path)
    assert [c.title for c in ConversationRepository(db).list()] == ["kept"]
    assert [m.content for m in MessageRepository(db).thread(1)] == ["about lighthouses"]
    assert DownloadRepository(db).list() == []
    assert [h.message_id for h in MessageSearch(db).search("lighthouse")] == [1], "indexed"
    db.close()


def test_reopening_a_migrated_database_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = Database(path)
    ConversationRepository(db).create("kept")
    db.close()
    again = Database(path)
    assert [c.title for c in ConversationRepository(again).list()] == ["kept"]
    again.close()


def test_wal_foreign_keys_and_busy_timeout_are_on(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3")
    assert db.journal_mode() == "wal"
    with db.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    db.close()


def test_thread_follows_parents_from_the_newest_message(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3")
    conversation = ConversationRepository(db).create("t")
    messages = MessageRepository(db)
    first = messages.add(conversation.id, "user", "q1", parent_id=None)
    answer = messages.add(conversation.id, "assistant", "a1", parent_id=first.id)
    # A second answer to the same question is a branch; the newest branch is the thread.
    branch = messages.add(conversation.id, "assistant", "a1 again", parent_id=first.id)
    assert [m.content for m in messages.thread(conversation.id)] == ["q1", "a1 again"]
    follow = messages.add(conversation.id, "user", "q2", parent_id=answer.id)
    assert [m.id for m in messages.thread(conversation.id)] == [first.id, answer.id, follow.id]
    assert branch.parent_id == first.id
    db.close()


def test_deleting_a_conversation_deletes_its_messages(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3")
    conversation = ConversationRepository(db).create("t")
    MessageRepository(db).add(conversation.id, "user", "q", parent_id=None)
    with db.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM conversations")
        assert c.exec_driver_sql("SELECT count(*) FROM messages").scalar() == 0
    db.close()


def test_an_answer_left_streaming_by_a_dead_process_is_marked_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    # Another process writes a streaming answer and dies without finishing it.
    script = (
        "import sys; from pathlib import Path;"
        "from desktop.store.db import Database;"
        "from desktop.store.repositories import ConversationRepository, MessageRepository;"
        "db = Database(Path(sys.argv[1])); c = ConversationRepository(db).create('t');"
        "m = MessageRepository(db); u = m.add(c.id, 'user', 'q', parent_id=None);"
        "a = m.add(c.id, 'assistant', '', parent_id=u.id, status='streaming');"
        "m.save_partial(a.id, 'half of it')"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)
    db = Database(path)
    answer = MessageRepository(db).thread(1)[-1]
    assert (answer.status, answer.content) == ("interrupted", "half of it")
    db.close()


def test_summaries_and_translations_left_running_by_a_dead_process_are_interrupted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite3"
    # Another process starts a summary and a translation, writes part of each, and dies.
    script = (
        "import sys; from pathlib import Path;"
        "from desktop.store.db import Database;"
        "from desktop.store.summaries import SummaryRepository;"
        "from desktop.store.translations import NewSegment, TranslationRepository;"
        "db = Database(Path(sys.argv[1])); s = SummaryRepository(db);"
        "r = s.create(title='t', source_name=None, source_hash='h', source_text='x',"
        " options={}, model_id='m'); s.change(r.id, partials=['notes on part 1']);"
        "t = TranslationRepository(db);"
        "t.create(title='t', source_name=None, source_hash='h', source_language='en',"
        " target_language='fr', tone='', glossary=[], model_id='m',"
        " segments=[NewSegment('A.', '', 'A.', True, '')])"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)
    db = Database(path)
    summary = SummaryRepository(db).get(1)
    assert (summary.status, summary.partials) == ("interrupted", ["notes on part 1"])
    assert TranslationRepository(db).get(1).status == "interrupted"
    db.close()


def test_an_answer_still_being_written_by_a_live_process_is_left_alone(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3")
    conversation = ConversationRepository(db).create("t")
    messages = MessageRepository(db)
    user = messages.add(conversation.id, "user", "q", parent_id=None)
    messages.add(conversation.id, "assistant", "", parent_id=user.id, status="streaming")
    assert db.recover_interrupted() == 0
    assert messages.thread(conversation.id)[-1].status == "streaming"
    db.close()


def test_the_migrations_and_the_models_in_schema_py_agree(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from desktop.store.schema import Base

    db = Database(tmp_path / "db.sqlite3")
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            # The full-text index is a virtual table (and its shadow tables): not an ORM model.
            opts={
                "include_name": lambda name, kind, _: (
                    not str(name).startswith(("messages_fts", "passages_fts", "passage_vectors_"))
                )
            },
        )
        diff = compare_metadata(context, Base.metadata)
    db.close()
    assert diff == [], "schema.py changed without a migration (or the other way round)"


def test_search_finds_words_of_any_message_newest_first_with_marked_snippets(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "db.sqlite3")
    conversations, messages, search = (
        ConversationRepository(db),
        MessageRepository(db),
        (MessageSearch(db)),
    )
    old = conversations.create("old")
    question = messages.add(old.id, "user", "Tell me about lighthouses.", parent_id=None)
    answer = messages.add(
        old.id, "assistant", "A lighthouse keeper kept thirty logbooks.", parent_id=question.id
    )
    new = conversations.create("new")
    messages.add(new.id, "user", "Another lighthouse question", parent_id=None)

    hits = search.search("lighthous")
    assert [h.conversation_title for h in hits] == ["new", "old", "old"], "prefix, newest first"
    assert len(search.search("lighthouse")) == 2, "a whole word is looked up as a word"
    (keeper,) = search.search("keeper logbooks")
    assert keeper.message_id == answer.id and keeper.role == "assistant"
    assert f"{MATCH_START}keeper{MATCH_END}" in keeper.snippet
    assert search.search('logbooks" OR "x') == [], "FTS syntax in the text is just words"

    messages.save_partial(answer.id, "Rewritten while streaming.")
    assert search.search("keeper") == [] and search.search("rewritten")

    conversations.delete(old.id)
    assert [h.conversation_title for h in search.search("lighthouse")] == ["new"]
    assert [c.title for c in conversations.list()] == ["new"]
    conversations.restore(old.id)
    assert {c.title for c in conversations.list()} == {"new", "old"}
    conversations.delete(old.id)
    assert conversations.purge_deleted() == 1
    with db.engine.connect() as c:
        indexed = c.exec_driver_sql("SELECT count(*) FROM messages_fts").scalar()
    assert indexed == 1, "the purged messages left the index too"
    db.close()


def test_fts_query_quotes_words_and_prefixes_the_last() -> None:
    assert fts_query("keeper log") == '"keeper" "log"*'
    assert fts_query("keeper log", last_is_a_word=True) == '"keeper" "log"'
    assert fts_query('AND OR "NEAR(') == '"AND" "OR" "NEAR"*'
    assert fts_query("  ...  ") is None


def test_branches_siblings_and_the_branch_shown(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3")
    conversations, messages = ConversationRepository(db), MessageRepository(db)
    c = conversations.create("t")
    q = messages.add(c.id, "user", "q", parent_id=None)
    a1 = messages.add(c.id, "assistant", "a1", parent_id=q.id)
    f1 = messages.add(c.id, "user", "follow-up", parent_id=a1.id)
    a2 = messages.add(c.id, "assistant", "a2", parent_id=q.id)  # regenerated
    assert [m.id for m in messages.siblings(a1.id)] == [a1.id, a2.id]
    assert [m.content for m in messages.thread(c.id)] == ["q", "a2"]
    # Back to the first answer: its branch continues to its follow-up.
    conversations.change(c.id, current_leaf_id=messages.newest_leaf_under(a1.id))
    assert [m.id for m in messages.thread(c.id)] == [q.id, a1.id, f1.id]
    assert [m.id for m in messages.all(c.id)] == [q.id, a1.id, f1.id, a2.id]
    db.close()


def test_presets_are_saved_replaced_listed_and_deleted(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3")
    presets = PresetRepository(db)
    presets.save("Editor", "You edit prose.", {"temperature": 0.3})
    presets.save("Editor", "You edit prose tightly.", {"temperature": 0.2})
    presets.save("Coder", None, {"temperature": 0.0, "top_p": 0.9})
    assert [p.name for p in presets.list()] == ["Coder", "Editor"]
    assert presets.get("Editor").sampling == {"temperature": 0.2}
    presets.delete("Coder")
    with pytest.raises(PresetNotFound, match="Presets: Editor"):
        presets.get("Coder")
    db.close()
