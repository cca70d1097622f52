from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from desktop.store.db import MIGRATIONS, Database
from desktop.store.downloads import DownloadRepository
from desktop.store.repositories import ConversationRepository, MessageRepository


def test_migrations_build_the_schema_from_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Database(path).close()
    with sqlite3.connect(path) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = raw.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert {"conversations", "messages", "downloads", "alembic_version"} <= tables
    assert version == "0002_downloads"


def test_a_database_from_the_first_release_gains_the_download_queue(tmp_path: Path) -> None:
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
    db = Database(path)
    assert [c.title for c in ConversationRepository(db).list()] == ["kept"]
    assert DownloadRepository(db).list() == []
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
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    db.close()
    assert diff == [], "schema.py changed without a migration (or the other way round)"
