"""Reads and writes of Playground runs (the shared shape of saved sessions: store/sessions.py)
and presets. Everything returned is a plain dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.errors import PresetNotFound
from desktop.store.db import Database
from desktop.store.records import plain_record
from desktop.store.schema import PlaygroundPreset, PlaygroundRun
from desktop.store.sessions import RunStatus, SessionStore


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
    status: RunStatus
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


class PlaygroundRuns(SessionStore[PlaygroundRunRecord]):
    table = PlaygroundRun
    noun = "Playground run"
    searched = (PlaygroundRun.title, PlaygroundRun.prompt, PlaygroundRun.output)

    def _record(self, row: PlaygroundRun) -> PlaygroundRunRecord:
        return plain_record(
            PlaygroundRunRecord,
            row,
            setup=dict(row.setup),
            parameters=dict(row.parameters),
            tokens=list(row.tokens or []),
        )

    def create(self, **values: Any) -> PlaygroundRunRecord:
        """A run starting now, owned by this process until it ends. `values` are the
        PlaygroundRun columns the run starts with (title, mode, setup, prompt, ...)."""
        return self._create(**({"output": "", "tokens": []} | values))

    def comparison(self, comparison_id: int) -> list[PlaygroundRunRecord]:
        """The runs started side by side, by lane."""
        statement = (
            select(PlaygroundRun)
            .where(PlaygroundRun.comparison_id == comparison_id)
            .order_by(PlaygroundRun.lane, PlaygroundRun.id)
        )
        with self._db.session() as session:
            return [self._record(row) for row in session.scalars(statement)]


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
