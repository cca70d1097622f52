"""Reads and writes of Playground runs and presets. Everything returned is a plain dataclass."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from desktop.errors import LanternError, PresetNotFound
from desktop.store.db import Database
from desktop.store.schema import PlaygroundPreset, PlaygroundRun
from desktop.store.search import like_pattern


@dataclass(frozen=True)
class PlaygroundRunRecord:
    id: int
    title: str
    mode: str
    setup: dict[str, Any]
    prompt: str
    messages: list[list[str]] | None
    parameters: dict[str, Any]
    model_id: str | None
    output: str
    tokens: list[Any]
    stats: dict[str, Any] | None
    status: str
    error: str | None
    comparison_id: int | None
    lane: int
    branch_of: int | None
    branch_at: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PlaygroundPresetRecord:
    name: str
    parameters: dict[str, Any]


def _record(row: PlaygroundRun) -> PlaygroundRunRecord:
    return PlaygroundRunRecord(
        id=row.id,
        title=row.title,
        mode=row.mode,
        setup=dict(row.setup),
        prompt=row.prompt,
        messages=row.messages,
        parameters=dict(row.parameters),
        model_id=row.model_id,
        output=row.output,
        tokens=list(row.tokens or []),
        stats=row.stats,
        status=row.status,
        error=row.error,
        comparison_id=row.comparison_id,
        lane=row.lane,
        branch_of=row.branch_of,
        branch_at=row.branch_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class PlaygroundRunNotFound(LanternError, LookupError):
    pass


class PlaygroundRuns:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, **values: Any) -> PlaygroundRunRecord:
        """A run starting now, owned by this process until it ends. `values` are the
        PlaygroundRun columns the run starts with (title, mode, setup, prompt, ...)."""
        with self._db.session() as session:
            row = PlaygroundRun(output="", tokens=[], status="running", writer_pid=os.getpid())
            for name, value in values.items():
                setattr(row, name, value)
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, run_id: int) -> PlaygroundRunRecord:
        with self._db.session() as session:
            return _record(self._row(session, run_id))

    def change(self, run_id: int, **values: Any) -> None:
        """Save part of a run as it goes (output and tokens so far, then how it ended)."""
        with self._db.session() as session:
            row = self._row(session, run_id)
            for name, value in values.items():
                setattr(row, name, value)
            if values.get("status", "running") != "running":
                row.writer_pid = None

    def recent(self, query: str = "", limit: int = 200) -> list[PlaygroundRunRecord]:
        """Newest first; with a query, those whose title, prompt or output has it."""
        statement = select(PlaygroundRun).order_by(
            PlaygroundRun.updated_at.desc(), PlaygroundRun.id.desc()
        )
        if query.strip():
            pattern = like_pattern(query.strip())
            columns = (PlaygroundRun.title, PlaygroundRun.prompt, PlaygroundRun.output)
            statement = statement.where(or_(*(c.like(pattern, escape="\\") for c in columns)))
        with self._db.session() as session:
            return [_record(row) for row in session.scalars(statement.limit(limit))]

    def comparison(self, comparison_id: int) -> list[PlaygroundRunRecord]:
        """The runs started side by side, by lane."""
        statement = (
            select(PlaygroundRun)
            .where(PlaygroundRun.comparison_id == comparison_id)
            .order_by(PlaygroundRun.lane, PlaygroundRun.id)
        )
        with self._db.session() as session:
            return [_record(row) for row in session.scalars(statement)]

    def delete(self, run_id: int) -> None:
        with self._db.session() as session:
            session.delete(self._row(session, run_id))

    @staticmethod
    def _row(session: Session, run_id: int) -> PlaygroundRun:
        row = session.get(PlaygroundRun, run_id)
        if row is None:
            raise PlaygroundRunNotFound(f"There is no Playground run {run_id}.")
        return row


class PlaygroundPresets:
    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> list[PlaygroundPresetRecord]:
        statement = select(PlaygroundPreset).order_by(PlaygroundPreset.name)
        with self._db.session() as session:
            return [
                PlaygroundPresetRecord(row.name, dict(row.parameters))
                for row in session.scalars(statement)
            ]

    def get(self, name: str) -> PlaygroundPresetRecord:
        with self._db.session() as session:
            row = self._row(session, name)
            return PlaygroundPresetRecord(row.name, dict(row.parameters))

    def save(self, name: str, parameters: dict[str, Any]) -> None:
        """Create the preset, or overwrite the one of that name."""
        with self._db.session() as session:
            row = session.scalar(select(PlaygroundPreset).where(PlaygroundPreset.name == name))
            if row is None:
                session.add(PlaygroundPreset(name=name, parameters=parameters))
            else:
                row.parameters = parameters

    def delete(self, name: str) -> None:
        with self._db.session() as session:
            session.delete(self._row(session, name))

    @staticmethod
    def _row(session: Session, name: str) -> PlaygroundPreset:
        row = session.scalar(select(PlaygroundPreset).where(PlaygroundPreset.name == name))
        if row is None:
            raise PresetNotFound(f"There is no Playground preset named {name!r}.")
        return row
