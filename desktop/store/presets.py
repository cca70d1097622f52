"""Named presets: a system prompt and sampling settings, saved to apply to conversations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from desktop.errors import LanternError, PresetNotFound
from desktop.store.db import Database
from desktop.store.schema import Preset


@dataclass(frozen=True)
class PresetRecord:
    id: int
    name: str
    system_prompt: str | None
    sampling: dict[str, Any]


def _preset(row: Preset) -> PresetRecord:
    return PresetRecord(row.id, row.name, row.system_prompt, dict(row.sampling))


class PresetRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self) -> list[PresetRecord]:
        with self._db.session() as session:
            return [_preset(row) for row in session.scalars(select(Preset).order_by(Preset.name))]

    def get(self, name: str) -> PresetRecord:
        with self._db.session() as session:
            row = session.scalars(select(Preset).where(Preset.name == name)).first()
            if row is None:
                names = ", ".join(p.name for p in self.list()) or "none yet"
                raise PresetNotFound(f"There is no preset called '{name}'. Presets: {names}.")
            return _preset(row)

    def save(self, name: str, system_prompt: str | None, sampling: dict[str, Any]) -> PresetRecord:
        """Create the preset, or replace the one of that name."""
        name = name.strip()
        if not name:
            raise LanternError("A preset needs a name.")
        try:
            with self._db.session() as session:
                row = session.scalars(select(Preset).where(Preset.name == name)).first()
                if row is None:
                    row = Preset(name=name, system_prompt=system_prompt, sampling=sampling)
                    session.add(row)
                else:
                    row.system_prompt, row.sampling = system_prompt, sampling
                session.flush()
                return _preset(row)
        except IntegrityError as exc:  # saved by another window at the same moment
            raise LanternError(f"A preset called '{name}' was just saved elsewhere.") from exc

    def delete(self, name: str) -> None:
        with self._db.session() as session:
            row = session.scalars(select(Preset).where(Preset.name == name)).first()
            if row is None:
                raise PresetNotFound(f"There is no preset called '{name}'.")
            session.delete(row)
