"""Translate: a document cut into segments (paragraphs, headings, list items: tasks.segments)
and translated one by one, with the glossary terms each segment uses and the segment before
it as context, so that terminology stays the same from the first page to the last.

`TranslationService.start()` commits the session with every segment pending before anything
else; iterating the returned `TranslationRun` translates the pending ones, saving each as it
is done. A run cancelled, failed or cut short by a crash keeps every finished segment, and
`resume()` goes on with the rest. A segment can be edited by hand or translated again alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from desktop.engine.pool import EnginePool
from desktop.engine.protocol import ChatMessage, Sampling
from desktop.errors import LanternError
from desktop.services.generation_steps import (
    GenerationSteps,
    Pace,
    StepCost,
    ended_if_stopped_waiting,
    marked_if_it_fails,
)
from desktop.services.models import ModelService
from desktop.services.runs import FLUSH_INTERVAL_S
from desktop.services.writing import WritingOutcome, WritingService, source_columns
from desktop.store.db import Database
from desktop.store.translations import (
    NewSegment,
    SegmentRecord,
    TranslationRecord,
    TranslationRepository,
    TranslationStatus,
)
from desktop.tasks.document_export import ExportFormat, export_bilingual, export_document
from desktop.tasks.documents import SourceText
from desktop.tasks.glossary import Glossary, glossary_from_pairs
from desktop.tasks.languages import Language, detect_language, language_name
from desktop.tasks.prompts import fill, template
from desktop.tasks.segments import Segment, assemble, split_into_segments

if TYPE_CHECKING:
    from desktop.services.models import RunnableModel

log = logging.getLogger(__name__)

TRANSLATION_SAMPLING = Sampling(temperature=0.2, top_p=0.9, repeat_penalty=1.05)


@dataclass(frozen=True)
class TranslationOptions:
    target: Language
    source: Language | None = None  # None: detected from the text
    tone: str = ""  # "formal", "informal", or the user's own words
    glossary: Glossary = field(default_factory=Glossary)


# ---- what a run reports as it goes ----------------------------------------------------------


@dataclass(frozen=True)
class SegmentStarted:
    position: int  # the segment's place in the document, from 0
    step: int  # from 1, among the segments this run translates
    steps: int
    eta_s: float | None


@dataclass(frozen=True)
class SegmentPiece:
    position: int
    text: str


@dataclass(frozen=True)
class SegmentDone:
    segment: SegmentRecord  # with its translation and the glossary terms it misses


TranslationEvent = SegmentStarted | SegmentPiece | SegmentDone


TranslationOutcome = WritingOutcome[TranslationStatus, TranslationRecord]


class TranslationService(WritingService[TranslationRecord]):
    def __init__(self, db: Database, models: ModelService, engines: EnginePool) -> None:
        self.translations = TranslationRepository(db)
        super().__init__(self.translations, models, engines, "translation")

    def start(
        self, source: SourceText, options: TranslationOptions, *, model_id: str | None = None
    ) -> TranslationRun:
        """Commit the session with its segments; iterate the run to translate them."""
        segments = split_into_segments(source.text)
        if not any(segment.translatable for segment in segments):
            raise LanternError("There is no text to translate: paste some, or open a file.")
        model = self.model(model_id)
        source_language = options.source or detect_language(source.text)
        record = self.translations.create(
            **source_columns(source),
            source_language=source_language.code if source_language else None,
            target_language=options.target.code,
            tone=options.tone.strip(),
            glossary=[(t.term, t.translation) for t in options.glossary.terms],
            model_id=model.id,
            segments=[_same_fields(NewSegment, segment) for segment in segments],
        )
        return TranslationRun(self, record.id, model)

    def resume(self, translation_id: int, *, model_id: str | None = None) -> TranslationRun:
        """Go on with the segments a cancelled, failed or interrupted run did not finish."""
        record = self.translations.get(translation_id)
        model = self.model(model_id or record.model_id)
        self.translations.change(translation_id, status="running", error=None)
        return TranslationRun(self, translation_id, model)

    def retranslate(self, segment_id: int, *, model_id: str | None = None) -> TranslationRun:
        """Translate one segment again (an edited one loses the user's edit)."""
        segment = self.translations.segment(segment_id)
        if not segment.translatable:
            raise LanternError("This part is code or markup: it is kept as it is.")
        record = self.translations.get(segment.translation_id)
        model = self.model(model_id or record.model_id)
        self.translations.change(record.id, status="running", error=None)
        return TranslationRun(self, record.id, model, only=segment.position)

    def edit_segment(self, segment_id: int, text: str) -> SegmentRecord:
        """The user's own translation of a segment, checked against the glossary."""
        segment = self.translations.segment(segment_id)
        glossary = self.glossary(segment.translation_id)
        missing = [t.term for t in glossary.missing_in(segment.text, text)]
        return self.translations.change_segment(
            segment_id, translation=text.strip(), status="edited", missing_terms=missing
        )

    def session(self, translation_id: int) -> tuple[TranslationRecord, list[SegmentRecord]]:
        return self.translations.get(translation_id), self.translations.segments(translation_id)

    def glossary(self, translation_id: int) -> Glossary:
        return glossary_from_pairs(self.translations.get(translation_id).glossary)

    def translated_document(self, translation_id: int) -> str:
        """The translation with the document's Markdown around it; untranslated segments in
        their original words."""
        segments = self.translations.segments(translation_id)
        return assemble(
            [_same_fields(Segment, segment) for segment in segments],
            [s.translation if s.translatable else None for s in segments],
        )

    def export(self, translation_id: int, fmt: ExportFormat, *, bilingual: bool = False) -> bytes:
        record, segments = self.session(translation_id)
        if not any(s.translation for s in segments if s.translatable):
            raise LanternError("Nothing is translated yet to export.")
        title = f"{record.title} ({_language_name(record.target_language)})"
        if not bilingual:
            return export_document(self.translated_document(translation_id), fmt, title=title)
        if fmt == "txt":
            raise LanternError("A bilingual export is Markdown (.md) or Word (.docx).")
        pairs = [(s.source, s.prefix + (s.translation or "")) for s in segments]
        return export_bilingual(
            pairs,
            fmt,
            source_language=_language_name(record.source_language),
            target_language=_language_name(record.target_language),
            title=title,
        )


def _same_fields(kind: Any, segment: Any) -> Any:
    """`segment` as `kind`: the layout of a segment (tasks) and its stored form (store)
    have the same fields."""
    return kind(**{f.name: getattr(segment, f.name) for f in fields(kind)})


def _language_name(code: str | None) -> str:
    return language_name(code) if code else "Original"


# ---- prompts ------------------------------------------------------------------------------


def segment_messages(
    text: str,
    *,
    source_language: str | None,
    target_language: str,
    tone: str,
    glossary: Glossary,
    previous: tuple[str, str] | None,
) -> tuple[ChatMessage, ...]:
    """The system message, the segment before (the user's text and its translation, as an
    earlier turn), then this segment with the glossary terms it uses."""

    def ask(segment_text: str, terms: Glossary) -> ChatMessage:
        used = terms.used_in(segment_text)
        listed = "\n".join(
            fill("translate/glossary_term", term=t.term, translation=t.translation) for t in used
        )
        return ChatMessage(
            "user",
            fill(
                "translate/segment",
                source_language=_language_name(source_language)
                if source_language
                else "its original language",
                target_language=_language_name(target_language),
                tone=" " + fill("translate/tone", tone=tone) if tone else "",
                glossary="\n\n" + fill("translate/glossary", terms=listed) if used else "",
                text=segment_text,
            ),
        )

    messages = [ChatMessage("system", template("translate/system"))]
    if previous is not None:
        messages += [ask(previous[0], Glossary()), ChatMessage("assistant", previous[1])]
    messages.append(ask(text, glossary))
    return tuple(messages)


def _cleaned(translation: str, segment: SegmentRecord) -> str:
    """The model's answer as the segment's translation: a one-line segment (a heading, a list
    item) keeps its first line only, since its markup goes around a single line."""
    translation = translation.strip()
    if "\n" not in segment.text.strip() and segment.prefix:
        translation = next((line for line in translation.splitlines() if line.strip()), "")
    return translation.strip()


class TranslationRun:
    """Translating a session's pending segments (or one segment): a
    ServiceRun[TranslationEvent, TranslationOutcome] (services/runs.py). Iterate it for its
    events; `outcome` is set when the iteration ends. `cancel()` may be called from any
    thread."""

    def __init__(
        self,
        service: TranslationService,
        translation_id: int,
        model: RunnableModel,
        *,
        only: int | None = None,
    ) -> None:
        self._service = service
        self._repository = service.translations
        self.translation_id = translation_id
        self.model = model
        self._only = only
        self._steps = GenerationSteps()
        self.outcome: TranslationOutcome | None = None

    def cancel(self) -> None:
        self._steps.cancel()

    def __iter__(self) -> Iterator[TranslationEvent]:
        return ended_if_stopped_waiting(self._events())

    def _events(self) -> Iterator[TranslationEvent]:
        started = time.monotonic()
        cancelled = self._steps.cancellation
        with marked_if_it_fails(self._finish), self._service.lease(self.model, cancelled) as model:
            self._steps.model = model
            record, segments = self._service.session(self.translation_id)
            glossary = glossary_from_pairs(record.glossary)
            todo = [s for s in segments if self._to_translate(s)]
            for step, segment in enumerate(todo, start=1):
                eta = self._time_left(todo[step - 1 :])
                yield SegmentStarted(segment.position, step, len(todo), eta)
                previous = _previous_pair(segments, segment.position)
                messages = segment_messages(
                    segment.text,
                    source_language=record.source_language,
                    target_language=record.target_language,
                    tone=record.tone,
                    glossary=glossary,
                    previous=previous,
                )
                done = yield from self._translate(segment, messages, glossary)
                if done is None:
                    break
                segments[segment.position] = done
                yield SegmentDone(done)
        self._finish("cancelled" if self._steps.cancelled else "complete", started=started)

    def _to_translate(self, segment: SegmentRecord) -> bool:
        if not segment.translatable:
            return False
        if self._only is not None:
            return segment.position == self._only
        return segment.status not in ("done", "edited")

    def _translate(
        self, segment: SegmentRecord, messages: Sequence[ChatMessage], glossary: Glossary
    ) -> Generator[TranslationEvent, None, SegmentRecord | None]:
        """Stream one segment's translation, saving it as it grows; the saved segment, or None
        when the run was cancelled during it (what it had is kept, marked partial)."""
        assert self._steps.model is not None
        budget = max(64, self._steps.model.count_tokens(segment.text) * 3 + 32)
        sampling = replace(TRANSLATION_SAMPLING, max_tokens=budget)
        pieces: list[str] = []
        last_flush = time.monotonic()
        for piece in self._steps.generate("segment", messages, sampling):
            pieces.append(piece)
            yield SegmentPiece(segment.position, piece)
            if time.monotonic() - last_flush >= FLUSH_INTERVAL_S:
                self._repository.change_segment(segment.id, translation="".join(pieces))
                last_flush = time.monotonic()
        if self._steps.cancelled:
            self._repository.change_segment(
                segment.id, translation="".join(pieces).strip() or None, status="partial"
            )
            return None
        translation = _cleaned("".join(pieces), segment)
        cost = self._steps.costs[-1] if self._steps.costs else None
        return self._repository.change_segment(
            segment.id,
            translation=translation,
            status="done",
            missing_terms=[t.term for t in glossary.missing_in(segment.text, translation)],
            stats=asdict(cost) if cost else None,
        )

    def _time_left(self, remaining: list[SegmentRecord]) -> float | None:
        pace = Pace(self._steps.costs)
        chars = sum(len(s.text) for s in remaining)
        tokens = chars // 4  # about four characters a token, for a guess
        return pace.seconds_for(tokens * 2, tokens)

    def _finish(
        self, status: TranslationStatus, *, error: str | None = None, started: float = 0.0
    ) -> None:
        segments = self._repository.segments(self.translation_id)
        if status == "complete" and any(self._unfinished(s) for s in segments):
            status = "incomplete"  # one segment translated again while others still wait
        costs: list[StepCost] = self._steps.costs
        timings = {
            "seconds": time.monotonic() - started if started else None,
            "segments": len(costs),
            "prompt_tokens": sum(c.prompt_tokens for c in costs),
            "generated_tokens": sum(c.generated_tokens for c in costs),
        }
        record = self._repository.change(
            self.translation_id, status=status, error=error, timings=timings
        )
        self.outcome = TranslationOutcome(status, record, error)
        log.info("Translation %s: %s after %d segments", self.translation_id, status, len(costs))

    @staticmethod
    def _unfinished(segment: SegmentRecord) -> bool:
        return segment.translatable and segment.status not in ("done", "edited")


def _previous_pair(segments: Sequence[SegmentRecord], position: int) -> tuple[str, str] | None:
    """The nearest translated text segment before `position`, as (source, translation)."""
    for segment in reversed(segments[:position]):
        if segment.translatable and segment.translation and segment.status in ("done", "edited"):
            return segment.text, segment.translation
    return None
