"""The database: one SQLite file in WAL mode, migrated to the latest schema when opened.

SQLite comes from `sqlean` (the stdlib sqlite3 may not load extensions) so that every connection
loads `sqlite-vec`, the vector search of the documents' passages (store/documents.py)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import sqlean
import sqlite_vec
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from desktop.store.schema import Message, PlaygroundRun, Summary, Translation

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 10_000
# Read through memory-mapped pages rather than a read call per page: a vector search reads
# every vector of a library (150 MB at 100,000 passages), a third faster this way.
MMAP_BYTES = 1 << 30


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(
            f"sqlite:///{path}", module=sqlean, connect_args={"check_same_thread": False}
        )
        event.listen(self.engine, "connect", _set_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.migrate()
        self.recover_interrupted()

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    def recover_interrupted(self) -> int:
        """Answers left 'streaming' and writing runs left 'running' by a process that no longer
        runs were cut short by a crash or a kill: keep what was written, mark them interrupted."""
        marked = 0
        with self.session() as session:
            for table, live in (
                (Message, "streaming"),
                (Summary, "running"),
                (Translation, "running"),
                (PlaygroundRun, "running"),
            ):
                rows = session.execute(
                    select(table.id, table.writer_pid).where(table.status == live)
                ).all()
                dead = [rid for rid, pid in rows if pid is None or not process_alive(pid)]
                if dead:
                    session.execute(
                        update(table)
                        .where(table.id.in_(dead))
                        .values(status="interrupted", writer_pid=None)
                    )
                    log.info(
                        "Marked %d %s interrupted by an earlier crash",
                        len(dead),
                        table.__tablename__,
                    )
                marked += len(dead)
        return marked

    def journal_mode(self) -> str:
        with self.engine.connect() as connection:
            return str(connection.exec_driver_sql("PRAGMA journal_mode").scalar())

    def close(self) -> None:
        self.engine.dispose()


def process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.enable_load_extension(True)
    sqlite_vec.load(dbapi_connection)
    dbapi_connection.enable_load_extension(False)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # WAL + NORMAL: a commit survives an app crash; only an OS crash can lose the last one.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    cursor.close()
