"""Reads and writes of summary sessions (the shared shape: store/sessions.py). Everything
returned is a plain dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Unpack

from sqlalchemy import select

from desktop.store.records import plain_record
from desktop.store.schema import Summary
from desktop.store.sessions import RunStatus, SessionStore, SourceColumns


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
    status: RunStatus
    error: str | None
    timings: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class NewSummary(SourceColumns):
    source_text: str
    options: dict[str, Any]
    model_id: str


class SummaryRepository(SessionStore[SummaryRecord]):
    table = Summary
    noun = "summary"
    searched = (Summary.title, Summary.source_name, Summary.result, Summary.source_text)

    def _record(self, row: Summary) -> SummaryRecord:
        return plain_record(
            SummaryRecord, row, options=dict(row.options), partials=list(row.partials or [])
        )

    def create(self, **columns: Unpack[NewSummary]) -> SummaryRecord:
        """A run starting now, owned by this process until it ends."""
        return self._create(**columns, partials=[], result="")

    def versions(self, source_hash: str) -> list[SummaryRecord]:
        """Every run over one source, oldest first: the versions to compare."""
        statement = select(Summary).where(Summary.source_hash == source_hash).order_by(Summary.id)
        with self._db.session() as session:
            return [self._record(row) for row in session.scalars(statement)]
