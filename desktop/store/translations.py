"""Reads and writes of translation sessions and their segments. Plain dataclasses out."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import Session

from desktop.errors import LanternError
from desktop.store.db import Database
from desktop.store.schema import Translation, TranslationSegment
from desktop.store.search import like_pattern


@dataclass(frozen=True)
class TranslationRecord:
    id: int
    title: str
    source_name: str | None
    source_hash: str
    source_language: str | None
    target_language: str
    tone: str
    glossary: list[tuple[str, str]]
    model_id: str | None
    status: str
    error: str | None
    timings: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SegmentRecord:
    id: int
    translation_id: int
    position: int
    source: str
    prefix: str
    text: str
    translatable: bool
    separator: str
    suffix: str
    continuation: str
    translation: str | None
    status: str  # pending | done | edited | failed
    missing_terms: list[str]
    stats: dict[str, Any] | None


@dataclass(frozen=True)
class NewSegment:
    source: str
    prefix: str
    text: str
    translatable: bool
    separator: str
    suffix: str = ""
    continuation: str = ""


class TranslationNotFound(LanternError, LookupError):
    pass


def _record(row: Translation) -> TranslationRecord:
    return TranslationRecord(
        id=row.id,
        title=row.title,
        source_name=row.source_name,
        source_hash=row.source_hash,
        source_language=row.source_language,
        target_language=row.target_language,
        tone=row.tone,
        glossary=[(term, translation) for term, translation in row.glossary or []],
        model_id=row.model_id,
        status=row.status,
        error=row.error,
        timings=row.timings,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _segment(row: TranslationSegment) -> SegmentRecord:
    return SegmentRecord(
        id=row.id,
        translation_id=row.translation_id,
        position=row.position,
        source=row.source,
        prefix=row.prefix,
        text=row.text,
        translatable=row.translatable,
        separator=row.separator,
        suffix=row.suffix,
        continuation=row.continuation,
        translation=row.translation,
        status=row.status,
        missing_terms=list(row.missing_terms or []),
        stats=row.stats,
    )


class TranslationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        *,
        title: str,
        source_name: str | None,
        source_hash: str,
        source_language: str | None,
        target_language: str,
        tone: str,
        glossary: Sequence[tuple[str, str]],
        model_id: str,
        segments: Sequence[NewSegment],
    ) -> TranslationRecord:
        """The session and every segment, in one commit: untranslatable ones (code) are done."""
        with self._db.session() as session:
            row = Translation(
                title=title,
                source_name=source_name,
                source_hash=source_hash,
                source_language=source_language,
                target_language=target_language,
                tone=tone,
                glossary=[list(pair) for pair in glossary],
                model_id=model_id,
                status="running",
                writer_pid=os.getpid(),
            )
            session.add(row)
            session.flush()
            session.add_all(
                TranslationSegment(
                    translation_id=row.id,
                    position=position,
                    source=segment.source,
                    prefix=segment.prefix,
                    text=segment.text,
                    translatable=segment.translatable,
                    separator=segment.separator,
                    suffix=segment.suffix,
                    continuation=segment.continuation,
                    translation=None if segment.translatable else segment.text,
                    status="pending" if segment.translatable else "done",
                    missing_terms=[],
                )
                for position, segment in enumerate(segments)
            )
            return _record(row)

    def get(self, translation_id: int) -> TranslationRecord:
        with self._db.session() as session:
            return _record(self._row(session, translation_id))

    def segments(self, translation_id: int) -> list[SegmentRecord]:
        statement = (
            select(TranslationSegment)
            .where(TranslationSegment.translation_id == translation_id)
            .order_by(TranslationSegment.position)
        )
        with self._db.session() as session:
            self._row(session, translation_id)
            return [_segment(row) for row in session.scalars(statement)]

    def segment(self, segment_id: int) -> SegmentRecord:
        with self._db.session() as session:
            row = session.get(TranslationSegment, segment_id)
            if row is None:
                raise TranslationNotFound(f"There is no translation segment {segment_id}.")
            return _segment(row)

    def change(self, translation_id: int, **values: Any) -> TranslationRecord:
        with self._db.session() as session:
            row = self._row(session, translation_id)
            for name, value in values.items():
                setattr(row, name, value)
            if "status" in values:
                row.writer_pid = os.getpid() if values["status"] == "running" else None
            return _record(row)

    def change_segment(self, segment_id: int, **values: Any) -> SegmentRecord:
        with self._db.session() as session:
            row = session.get(TranslationSegment, segment_id)
            if row is None:
                raise TranslationNotFound(f"There is no translation segment {segment_id}.")
            for name, value in values.items():
                setattr(row, name, value)
            session.flush()
            return _segment(row)

    def recent(self, query: str = "", limit: int = 200) -> list[TranslationRecord]:
        """Newest first; with a query, those whose title, file name or any segment has it."""
        statement = select(Translation).order_by(
            Translation.updated_at.desc(), Translation.id.desc()
        )
        if query.strip():
            pattern = like_pattern(query.strip())
            in_segments = exists().where(
                TranslationSegment.translation_id == Translation.id,
                or_(
                    TranslationSegment.source.like(pattern, escape="\\"),
                    TranslationSegment.translation.like(pattern, escape="\\"),
                ),
            )
            statement = statement.where(
                or_(
                    Translation.title.like(pattern, escape="\\"),
                    Translation.source_name.like(pattern, escape="\\"),
                    in_segments,
                )
            )
        with self._db.session() as session:
            return [_record(row) for row in session.scalars(statement.limit(limit))]

    def delete(self, translation_id: int) -> None:
        with self._db.session() as session:
            session.execute(
                delete(TranslationSegment).where(
                    TranslationSegment.translation_id == translation_id
                )
            )
            session.delete(self._row(session, translation_id))

    @staticmethod
    def _row(session: Session, translation_id: int) -> Translation:
        row = session.get(Translation, translation_id)
        if row is None:
            raise TranslationNotFound(f"There is no translation {translation_id}.")
        return row
