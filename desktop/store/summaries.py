"""Reads and writes of summary sessions. Everything returned is a plain dataclass."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from desktop.errors import LanternError
from desktop.store.db import Database
from desktop.store.schema import Summary
from desktop.store.search import like_pattern


@dataclass(frozen=True)
class SummaryRecord:
    id: int
    title: str
    source_name: str | None
    source_hash: str
    source_text: str
    options: dict[str, Any]
    model_id: str | None
    plan: dict[str, Any] | None
    partials: list[str]
    result: str
    status: str
    error: str | None
    timings: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


def _record(row: Summary) -> SummaryRecord:
    return SummaryRecord(
        id=row.id,
        title=row.title,
        source_name=row.source_name,
        source_hash=row.source_hash,
        source_text=row.source_text,
        options=dict(row.options),
        model_id=row.model_id,
        plan=row.plan,
        partials=list(row.partials or []),
        result=row.result,
        status=row.status,
        error=row.error,
        timings=row.timings,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SummaryNotFound(LanternError, LookupError):
    pass


class SummaryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        *,
        title: str,
        source_name: str | None,
        source_hash: str,
        source_text: str,
        options: dict[str, Any],
        model_id: str,
    ) -> SummaryRecord:
        """A run starting now, owned by this process until it ends."""
        with self._db.session() as session:
            row = Summary(
                title=title,
                source_name=source_name,
                source_hash=source_hash,
                source_text=source_text,
                options=options,
                model_id=model_id,
                partials=[],
                result="",
                status="running",
                writer_pid=os.getpid(),
            )
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, summary_id: int) -> SummaryRecord:
        with self._db.session() as session:
            return _record(self._row(session, summary_id))

    def change(self, summary_id: int, **values: Any) -> None:
        """Save part of a run as it goes (plan, notes, result so far)."""
        with self._db.session() as session:
            row = self._row(session, summary_id)
            for name, value in values.items():
                setattr(row, name, value)
            if values.get("status", "running") != "running":
                row.writer_pid = None

    def recent(self, query: str = "", limit: int = 200) -> list[SummaryRecord]:
        """Newest first; with a query, those whose title, file name, result or source has it."""
        statement = select(Summary).order_by(Summary.updated_at.desc(), Summary.id.desc())
        if query.strip():
            pattern = like_pattern(query.strip())
            statement = statement.where(
                or_(
                    *(
                        column.like(pattern, escape="\\")
                        for column in (
                            Summary.title,
                            Summary.source_name,
                            Summary.result,
                            Summary.source_text,
                        )
                    )
                )
            )
        with self._db.session() as session:
            return [_record(row) for row in session.scalars(statement.limit(limit))]

    def versions(self, source_hash: str) -> list[SummaryRecord]:
        """Every run over one source, oldest first: the versions to compare."""
        statement = select(Summary).where(Summary.source_hash == source_hash).order_by(Summary.id)
        with self._db.session() as session:
            return [_record(row) for row in session.scalars(statement)]

    def delete(self, summary_id: int) -> None:
        with self._db.session() as session:
            session.delete(self._row(session, summary_id))

    @staticmethod
    def _row(session: Session, summary_id: int) -> Summary:
        row = session.get(Summary, summary_id)
        if row is None:
            raise SummaryNotFound(f"There is no summary {summary_id}.")
        return row
