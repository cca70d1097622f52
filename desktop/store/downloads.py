"""Reads and writes of the download queue. Everything returned is a plain dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from desktop.store.db import Database
from desktop.store.records import plain_record
from desktop.store.schema import Download, utc_now

# A download in one of these states is still to be finished.
UNFINISHED = ("queued", "downloading", "paused", "failed")


@dataclass(frozen=True)
class DownloadPart:
    path: str
    size: int
    sha256: str | None


@dataclass(frozen=True)
class DownloadRecord:
    id: int
    repo: str
    revision: str
    name: str
    quant: str
    parts: tuple[DownloadPart, ...]
    done_bytes: int
    status: str
    error: str | None
    model_id: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def total_bytes(self) -> int:
        return sum(part.size for part in self.parts)


def _record(row: Download) -> DownloadRecord:
    return plain_record(DownloadRecord, row, parts=tuple(DownloadPart(**p) for p in row.parts))


class DownloadRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self, repo: str, revision: str, name: str, quant: str, parts: list[DownloadPart]
    ) -> DownloadRecord:
        with self._db.session() as session:
            row = Download(
                repo=repo,
                revision=revision,
                name=name,
                quant=quant,
                parts=[part.__dict__ for part in parts],
                done_bytes=0,
                status="queued",
            )
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, download_id: int) -> DownloadRecord | None:
        with self._db.session() as session:
            row = session.get(Download, download_id)
            return _record(row) if row else None

    def list(self) -> list[DownloadRecord]:
        """Every download, newest first."""
        with self._db.session() as session:
            rows = session.scalars(select(Download).order_by(Download.id.desc()))
            return [_record(row) for row in rows]

    def unfinished(self, repo: str, name: str) -> DownloadRecord | None:
        """The download of this model that is queued, running, paused or failed, if any."""
        with self._db.session() as session:
            row = session.scalars(
                select(Download).where(
                    Download.repo == repo, Download.name == name, Download.status.in_(UNFINISHED)
                )
            ).first()
            return _record(row) if row else None

    def claim(self, download_id: int) -> DownloadRecord | None:
        """Mark the download as running, only if it is still waiting for its turn (queued, or
        running when a crash cut it); None when it was paused, cancelled or removed meanwhile.
        One statement: a pause arriving at the same moment either wins or finds it running."""
        with self._db.session() as session:
            claimed = session.execute(
                update(Download)
                .where(Download.id == download_id, Download.status.in_(("queued", "downloading")))
                .values(status="downloading", error=None, updated_at=utc_now())
                .returning(Download.id)
            ).first()
        return self.get(download_id) if claimed else None

    def update(self, download_id: int, **values: Any) -> DownloadRecord:
        with self._db.session() as session:
            row = session.get(Download, download_id)
            if row is None:
                raise LookupError(f"download {download_id} is gone")
            for key, value in values.items():
                setattr(row, key, value)
            session.flush()
            return _record(row)

    def delete(self, download_id: int) -> None:
        with self._db.session() as session:
            row = session.get(Download, download_id)
            if row is not None:
                session.delete(row)
