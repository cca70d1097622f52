"""The saved sessions of the writing tools (summaries, translations, Playground runs): one
repository shape over their tables, which each repository fills in.

A session is a row that a run writes as it goes: it starts "running", claimed by this
process (`writer_pid`, so that the next start can tell a crash: `Database.recover_interrupted`),
and ends with how the run went. It is read as a plain dataclass, listed newest first (with a
search), changed, and deleted; one that is not there raises `SessionNotFound`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, Literal, TypedDict, TypeVar

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from desktop.errors import LanternError
from desktop.store.db import Database
from desktop.store.search import like_pattern

# How a run over a session went: what its status column says.
RunStatus = Literal["running", "complete", "cancelled", "failed", "interrupted"]

RecordT = TypeVar("RecordT")


class SessionNotFound(LanternError, LookupError):
    pass


class SourceColumns(TypedDict):
    """What a session of a text keeps of where the text came from."""

    title: str
    source_name: str | None  # the file; None if pasted
    source_hash: str  # sessions over the same text are versions of each other


class SessionStore(ABC, Generic[RecordT]):
    """Reads and writes of one kind of session. A repository names its table, what the user
    calls one session (for the not-found message), the columns a search looks in, and how a
    row becomes its record."""

    table: ClassVar[type[Any]]
    noun: ClassVar[str]  # "summary": "There is no summary 7."
    searched: ClassVar[tuple[InstrumentedAttribute[Any], ...]]

    def __init__(self, db: Database) -> None:
        self._db = db

    @abstractmethod
    def _record(self, row: Any) -> RecordT: ...

    def get(self, session_id: int) -> RecordT:
        with self._db.session() as session:
            return self._record(self._row(session, session_id))

    def change(self, session_id: int, **values: Any) -> RecordT:
        """Save part of a run as it goes (what it wrote so far), or how it ended: a status
        other than "running" ends this process's claim on the session."""
        with self._db.session() as session:
            row = self._row(session, session_id)
            for name, value in values.items():
                setattr(row, name, value)
            if "status" in values:
                row.writer_pid = os.getpid() if values["status"] == "running" else None
            return self._record(row)

    def recent(self, query: str = "", limit: int = 200) -> list[RecordT]:
        """Newest first; with a query, those that have it (`_matching`)."""
        table = self.table
        statement = select(table).order_by(table.updated_at.desc(), table.id.desc())
        if query.strip():
            statement = statement.where(self._matching(like_pattern(query.strip())))
        with self._db.session() as session:
            return [self._record(row) for row in session.scalars(statement.limit(limit))]

    def delete(self, session_id: int) -> None:
        """The session and what hangs on it (its rows cascade in the schema)."""
        with self._db.session() as session:
            session.delete(self._row(session, session_id))

    def _create(self, **values: Any) -> RecordT:
        with self._db.session() as session:
            return self._record(self._started(session, **values))

    def _started(self, session: Session, **values: Any) -> Any:
        """The row of a session whose run starts now: claimed by this process until it ends."""
        row = self.table(status="running", writer_pid=os.getpid(), **values)
        session.add(row)
        session.flush()
        return row

    def _matching(self, pattern: str) -> ColumnElement[bool]:
        """A session has the searched words (a LIKE pattern) in one of its searched columns."""
        return or_(*(column.like(pattern, escape="\\") for column in self.searched))

    def _row(self, session: Session, session_id: int) -> Any:
        row = session.get(self.table, session_id)
        if row is None:
            raise SessionNotFound(f"There is no {self.noun} {session_id}.")
        return row
