"""A translation run together with its session as it stood when the run began, both made in
the worker thread: the page lays out one row per segment from `segments` before the first
event arrives (PageRun emits `started` before any event)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop.services.translate import (
    TranslationEvent,
    TranslationOptions,
    TranslationOutcome,
    TranslationRun,
)
from desktop.store.translations import SegmentRecord, TranslationRecord
from desktop.tasks.documents import SourceText

if TYPE_CHECKING:
    from desktop.services.app import Lantern


@dataclass
class StartedTranslation:
    run: TranslationRun
    record: TranslationRecord
    segments: list[SegmentRecord]

    def __iter__(self) -> Iterator[TranslationEvent]:
        return iter(self.run)

    def cancel(self) -> None:
        self.run.cancel()

    @property
    def outcome(self) -> TranslationOutcome | None:
        return self.run.outcome


def _with_session(lantern: Lantern, run: TranslationRun) -> StartedTranslation:
    record, segments = lantern.translate.session(run.translation_id)
    return StartedTranslation(run, record, segments)


def new_translation(
    lantern: Lantern, source: SourceText, options: TranslationOptions, model_id: str | None
) -> Callable[[], StartedTranslation]:
    return lambda: _with_session(
        lantern, lantern.translate.start(source, options, model_id=model_id)
    )


def continued_translation(
    lantern: Lantern, translation_id: int, model_id: str | None
) -> Callable[[], StartedTranslation]:
    return lambda: _with_session(
        lantern, lantern.translate.resume(translation_id, model_id=model_id)
    )


def segment_translated_again(
    lantern: Lantern, segment_id: int, model_id: str | None
) -> Callable[[], StartedTranslation]:
    return lambda: _with_session(
        lantern, lantern.translate.retranslate(segment_id, model_id=model_id)
    )
