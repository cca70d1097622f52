"""Reads and writes of translation sessions (the shared shape: store/sessions.py) and their
segments. Plain dataclasses out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Unpack

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from desktop.store.records import plain_record
from desktop.store.schema import Translation, TranslationSegment
from desktop.store.sessions import (
    RunStatus,
    SessionNotFound,
    SessionStore,
    SourceColumns,
)

# "incomplete": one segment was translated again while others still wait.
TranslationStatus = Literal[RunStatus, "incomplete"]
# "partial": a run stopped in the middle of it; "edited": by hand.
SegmentStatus = Literal["pending", "done", "edited", "partial", "failed"]


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
    status: TranslationStatus
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
    status: SegmentStatus
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


class NewTranslation(SourceColumns):
    source_language: str | None
    target_language: str
    tone: str
    glossary: Sequence[tuple[str, str]]
    model_id: str


def _segment(row: TranslationSegment) -> SegmentRecord:
    return plain_record(SegmentRecord, row, missing_terms=list(row.missing_terms or []))


class TranslationRepository(SessionStore[TranslationRecord]):
    table = Translation
    noun = "translation"
    searched = (Translation.title, Translation.source_name)

    def _record(self, row: Translation) -> TranslationRecord:
        glossary = [(term, translation) for term, translation in row.glossary or []]
        return plain_record(TranslationRecord, row, glossary=glossary)

    def create(
        self, *, segments: Sequence[NewSegment], **columns: Unpack[NewTranslation]
    ) -> TranslationRecord:
        """The session and every segment, in one commit: untranslatable ones (code) are done."""
        glossary = [list(pair) for pair in columns["glossary"]]
        with self._db.session() as session:
            row = self._started(session, **{**columns, "glossary": glossary})
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
            return self._record(row)

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
            return _segment(self._segment_row(session, segment_id))

    def change_segment(self, segment_id: int, **values: Any) -> SegmentRecord:
        with self._db.session() as session:
            row = self._segment_row(session, segment_id)
            for name, value in values.items():
                setattr(row, name, value)
            session.flush()
            return _segment(row)

    def _matching(self, pattern: str) -> ColumnElement[bool]:
        """The title or file name has it, or any segment, as written or as translated."""
        in_segments = exists().where(
            TranslationSegment.translation_id == Translation.id,
            or_(
                TranslationSegment.source.like(pattern, escape="\\"),
                TranslationSegment.translation.like(pattern, escape="\\"),
            ),
        )
        return or_(super()._matching(pattern), in_segments)

    @staticmethod
    def _segment_row(session: Session, segment_id: int) -> TranslationSegment:
        row = session.get(TranslationSegment, segment_id)
        if row is None:
            raise SessionNotFound(f"There is no translation segment {segment_id}.")
        return row
