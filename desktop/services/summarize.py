"""Summarize: a text of any length made into a summary, step by step, saved as it goes.

`SummaryService.summarize()` commits the session (source, options, model) before anything
else; iterating the returned `SummaryRun` loads the model, plans the chunks with the model's
own tokenizer, writes notes on each chunk (saved after each), merges them if they are too
long together, and streams the summary (flushed every half second). However the run ends,
the notes and the text written so far are kept, marked complete, cancelled, failed or
interrupted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

from desktop.engine.pool import EnginePool
from desktop.engine.protocol import Sampling
from desktop.engine.text_model import TextModel
from desktop.errors import LanternError
from desktop.services.generation_steps import (
    GenerationSteps,
    Pace,
    ended_if_stopped_waiting,
    marked_if_it_fails,
    token_counter,
)
from desktop.services.models import ModelService
from desktop.services.runs import FLUSH_INTERVAL_S
from desktop.services.writing import WritingOutcome, WritingService, source_columns
from desktop.store.db import Database
from desktop.store.sessions import RunStatus
from desktop.store.summaries import SummaryRecord, SummaryRepository
from desktop.tasks.chunking import Chunk, split_into_chunks
from desktop.tasks.document_export import ExportFormat, export_document
from desktop.tasks.documents import SourceText
from desktop.tasks.summary import (
    MAX_CHUNK_TOKENS,
    NOTES_SEPARATOR,
    SummaryOptions,
    combine_messages,
    estimated_passes,
    final_messages,
    group_notes,
    note_tokens,
    part_messages,
    prompt_overhead,
    text_budget,
)

if TYPE_CHECKING:
    from desktop.services.models import RunnableModel

log = logging.getLogger(__name__)

# Summaries want the text's own words, not invention; a small penalty keeps small models
# from looping on a phrase.
SUMMARY_SAMPLING = Sampling(temperature=0.2, top_p=0.9, repeat_penalty=1.1)


@dataclass(frozen=True)
class SummaryPlan:
    context_length: int
    tokens: int  # the whole text's
    chunk_tokens: int  # the most one chunk may hold (the whole text when it fits at once)
    chunks: tuple[Chunk, ...]
    passes: int  # estimated: 1 when the text fits, else notes + merge rounds + summary
    final_budget: int  # tokens of notes the summary step can take
    combine_budget: int
    note_tokens: int  # the most one part's notes may take

    @property
    def words(self) -> int:
        return sum(len(chunk.text.split()) for chunk in self.chunks)

    def as_dict(self) -> dict[str, object]:
        return {
            "context_length": self.context_length,
            "tokens": self.tokens,
            "chunk_tokens": self.chunk_tokens,
            "note_tokens": self.note_tokens,
            "passes": self.passes,
            "chunks": [[c.start, c.end, c.tokens] for c in self.chunks],
        }


# ---- what a run reports as it goes ----------------------------------------------------------


@dataclass(frozen=True)
class PlanMade:
    plan: SummaryPlan


@dataclass(frozen=True)
class StepStarted:
    step: int  # from 1
    steps: int  # as now expected (merge rounds are known only once notes are written)
    label: str  # "Reading part 2 of 7"
    eta_s: float | None  # time left, once a step has shown the engine's pace


@dataclass(frozen=True)
class NotesPiece:
    part: int  # from 0, in the plan's chunks
    text: str


@dataclass(frozen=True)
class NotesDone:
    part: int
    text: str


@dataclass(frozen=True)
class SummaryPiece:
    text: str


SummaryEvent = PlanMade | StepStarted | NotesPiece | NotesDone | SummaryPiece


SummaryOutcome = WritingOutcome[RunStatus, SummaryRecord]


class SummaryService(WritingService[SummaryRecord]):
    def __init__(self, db: Database, models: ModelService, engines: EnginePool) -> None:
        self.summaries = SummaryRepository(db)
        super().__init__(self.summaries, models, engines, "summary")

    def summarize(
        self, source: SourceText, options: SummaryOptions, *, model_id: str | None = None
    ) -> SummaryRun:
        """Commit the session; iterate the run to make the summary."""
        if not source.text.strip():
            raise LanternError("There is no text to summarize: paste some, or open a file.")
        model = self.model(model_id)
        record = self.summaries.create(
            **source_columns(source),
            source_text=source.text,
            options=options.as_dict(),
            model_id=model.id,
        )
        return SummaryRun(self, record, source, options, model)

    def plan(
        self, source: SourceText, options: SummaryOptions, *, model_id: str | None = None
    ) -> SummaryPlan:
        """How a text would be summarized: its tokens, chunks and passes (loads the model)."""
        with self.preview_lease(self.model(model_id)) as model:
            return self.make_plan(source, options, model)

    def make_plan(
        self, source: SourceText, options: SummaryOptions, model: TextModel
    ) -> SummaryPlan:
        count = token_counter(model)
        context = model.loaded.context_length
        tokens = count(source.text)
        final_budget = text_budget(
            context,
            prompt_overhead(final_messages("", options, from_notes=False), count),
            options.answer_tokens,
        )
        if tokens <= final_budget:
            whole = Chunk(0, len(source.text), source.text, tokens)
            return SummaryPlan(context, tokens, final_budget, (whole,), 1, final_budget, 0, 0)
        reserve = note_tokens(context)  # room for the notes, before the part's size is known
        part_overhead = prompt_overhead(part_messages("", 99, 99, options, reserve), count)
        part_budget = min(text_budget(context, part_overhead, reserve), MAX_CHUNK_TOKENS)
        note = note_tokens(context, part_budget)
        combine_budget = text_budget(
            context, prompt_overhead(combine_messages([], options, note), count), note
        )
        notes_budget = text_budget(
            context,
            prompt_overhead(final_messages("", options, from_notes=True), count),
            options.answer_tokens,
        )
        chunks = tuple(split_into_chunks(source.text, part_budget, count))
        passes = estimated_passes(len(chunks), notes_budget, combine_budget, note)
        return SummaryPlan(
            context, tokens, part_budget, chunks, passes, notes_budget, combine_budget, note
        )

    def session(self, summary_id: int) -> SummaryRecord:
        return self.summaries.get(summary_id)

    def versions(self, summary_id: int) -> list[SummaryRecord]:
        """Every summary of the same source, oldest first (this one among them)."""
        return self.summaries.versions(self.summaries.get(summary_id).source_hash)

    def export(self, summary_id: int, fmt: ExportFormat) -> bytes:
        record = self.summaries.get(summary_id)
        if not record.result.strip():
            raise LanternError("This summary has no text yet to export.")
        return export_document(record.result, fmt, title=f"Summary of {record.title}")


class SummaryRun:
    """One summary being made: a ServiceRun[SummaryEvent, SummaryOutcome] (services/runs.py).
    Iterate it for its events; `outcome` is set when the iteration ends. `cancel()` may be
    called from any thread: the notes and text so far are kept."""

    def __init__(
        self,
        service: SummaryService,
        record: SummaryRecord,
        source: SourceText,
        options: SummaryOptions,
        model: RunnableModel,
    ) -> None:
        self._service = service
        self._repository = service.summaries
        self.summary_id = record.id
        self.source = source
        self.options = options
        self.model = model
        self._steps = GenerationSteps()
        self._notes: list[str] = []
        self._result: list[str] = []
        self._timings: dict[str, object] = {}
        self._merge_rounds = 0
        self.plan: SummaryPlan | None = None
        self.outcome: SummaryOutcome | None = None

    def cancel(self) -> None:
        self._steps.cancel()

    def __iter__(self) -> Iterator[SummaryEvent]:
        return ended_if_stopped_waiting(self._events())

    def _events(self) -> Iterator[SummaryEvent]:
        started = time.monotonic()
        cancelled = self._steps.cancellation
        with marked_if_it_fails(self._finish), self._service.lease(self.model, cancelled) as model:
            self._steps.model = model
            self._timings["load_s"] = time.monotonic() - started
            work_started = time.monotonic()
            plan = self._service.make_plan(self.source, self.options, model)
            self.plan = plan
            self._timings["plan_s"] = time.monotonic() - work_started
            self._repository.change(self.summary_id, plan=plan.as_dict())
            yield PlanMade(plan)
            if len(plan.chunks) == 1:
                yield from self._summary(plan, self.source.text, from_notes=False, step=1)
            else:
                yield from self._notes_on_every_part(plan)
                if not self._steps.cancelled:
                    notes, step = yield from self._merged_until_they_fit(plan)
                    if not self._steps.cancelled:
                        yield from self._summary(plan, NOTES_SEPARATOR.join(notes), True, step)
            self._timings["work_s"] = time.monotonic() - work_started
        self._finish("cancelled" if self._steps.cancelled else "complete")

    # ---- the steps ----

    def _notes_on_every_part(self, plan: SummaryPlan) -> Iterator[SummaryEvent]:
        parts = len(plan.chunks)
        self._notes = self._reusable_notes(plan)
        if self._notes:
            self._timings["reused_notes"] = len(self._notes)
            self._repository.change(self.summary_id, partials=list(self._notes))
            for index, note in enumerate(self._notes):
                yield NotesDone(index, note)
        for index, chunk in enumerate(plan.chunks[len(self._notes) :], start=len(self._notes)):
            yield self._step_started(index + 1, plan, f"Reading part {index + 1} of {parts}")
            pieces: list[str] = []
            messages = part_messages(
                chunk.text, index + 1, parts, self.options, plan.note_tokens, self.source.name
            )
            for piece in self._steps.generate("part", messages, _sampling(plan.note_tokens)):
                pieces.append(piece)
                yield NotesPiece(index, piece)
            if self._steps.cancelled:
                return
            self._notes.append("".join(pieces).strip())
            self._repository.change(self.summary_id, partials=list(self._notes))
            yield NotesDone(index, self._notes[-1])

    def _reusable_notes(self, plan: SummaryPlan) -> list[str]:
        """The notes an earlier summary of this text wrote on the same parts, with the same
        model and the options notes depend on (focus, language): a new version in another
        length or format then only writes the summary again, and a cancelled one goes on
        from the part it had reached."""
        parts = plan.as_dict()
        wanted = (parts["chunks"], parts["note_tokens"], self.options.focus, self.options.language)
        for earlier in reversed(self._repository.versions(self.source.sha256)):
            if earlier.id == self.summary_id or earlier.model_id != self.model.id:
                continue
            before, options = earlier.plan or {}, SummaryOptions.from_dict(earlier.options)
            had = (before.get("chunks"), before.get("note_tokens"), options.focus, options.language)
            if had == wanted and earlier.partials:
                return list(earlier.partials[: len(plan.chunks)])
        return []

    def _merged_until_they_fit(
        self, plan: SummaryPlan
    ) -> Generator[SummaryEvent, None, tuple[list[str], int]]:
        """Rounds of merging, until the notes fit the summary step; returns them and the
        number of the next step."""
        notes = list(self._notes)
        step = len(plan.chunks) + 1
        assert self._steps.model is not None
        count = token_counter(self._steps.model)
        while len(notes) > 1:
            tokens = [count(note) + 2 for note in notes]
            if sum(tokens) <= plan.final_budget:
                break
            groups = group_notes(tokens, plan.combine_budget)
            if len(groups) == len(notes):  # no two notes fit one step: merging cannot help
                break
            merged: list[str] = []
            self._merge_rounds += 1
            for group in groups:
                label = f"Combining notes {group.start + 1} to {group.stop} of {len(notes)}"
                yield self._step_started(step, plan, label)
                text = "".join(
                    self._steps.generate(
                        "combine",
                        combine_messages(
                            notes[group.start : group.stop], self.options, plan.note_tokens
                        ),
                        _sampling(plan.note_tokens),
                    )
                )
                if self._steps.cancelled:
                    return notes, step
                merged.append(text.strip())
                step += 1
            notes = merged
        return notes, step

    def _summary(
        self, plan: SummaryPlan, text: str, from_notes: bool, step: int
    ) -> Iterator[SummaryEvent]:
        yield self._step_started(step, plan, "Writing the summary")
        messages = final_messages(text, self.options, from_notes=from_notes,
                                  source_name=self.source.name)  # fmt: skip
        last_flush = time.monotonic()
        for piece in self._steps.generate("final", messages, _sampling(self.options.answer_tokens)):
            self._result.append(piece)
            yield SummaryPiece(piece)
            if time.monotonic() - last_flush >= FLUSH_INTERVAL_S:
                self._repository.change(self.summary_id, result="".join(self._result))
                last_flush = time.monotonic()

    def _step_started(self, step: int, plan: SummaryPlan, label: str) -> StepStarted:
        steps = max(step, self._expected_steps(plan))
        return StepStarted(step, steps, label, self._time_left(plan, step))

    def _expected_steps(self, plan: SummaryPlan) -> int:
        if len(plan.chunks) == 1:
            return 1
        merges = plan.passes - 2  # rounds of merging expected, each of a few steps
        per_group = max(1, plan.combine_budget // plan.note_tokens)
        merge_steps, notes = 0, len(plan.chunks)
        for _ in range(merges):
            notes = -(-notes // per_group)
            merge_steps += notes
        return len(plan.chunks) + merge_steps + 1

    def _time_left(self, plan: SummaryPlan, step: int) -> float | None:
        """The steps from `step` on, at the pace the engine has shown so far."""
        pace = Pace(self._steps.costs)
        note = pace.mean_generated("part", plan.note_tokens // 2)
        remaining_parts = plan.chunks[step - 1 :] if len(plan.chunks) > 1 else ()
        prompt = sum(c.tokens for c in remaining_parts)
        written = note * len(remaining_parts)
        notes_tokens = note * len(plan.chunks) if len(plan.chunks) > 1 else plan.tokens
        summary = pace.mean_generated("final", self.options.answer_tokens // 2)
        return pace.seconds_for(prompt + notes_tokens, written + summary)

    # ---- the end ----

    def _finish(self, status: RunStatus, *, error: str | None = None) -> None:
        self._timings["steps"] = [asdict(cost) for cost in self._steps.costs]
        if self.plan is not None:
            single = len(self.plan.chunks) == 1
            self._timings["passes"] = 1 if single else 2 + self._merge_rounds
        record = self._repository.change(
            self.summary_id,
            partials=list(self._notes),
            result="".join(self._result).strip(),
            status=status,
            error=error,
            timings=dict(self._timings),
        )
        self.outcome = SummaryOutcome(status, record, error)
        log.info("Summary %s: %s after %d steps", self.summary_id, status, len(self._steps.costs))


def _sampling(max_tokens: int) -> Sampling:
    return replace(SUMMARY_SAMPLING, max_tokens=max_tokens)
