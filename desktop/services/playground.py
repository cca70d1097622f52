"""The Playground: prompts run raw or through the chat template, with every sampling setting,
each token's probability and alternatives, a chosen alternative forced and continued from,
and two runs side by side in two engine processes of their own (the chat's engine and its
loaded model are left alone). Every run is saved as it streams and can be reopened."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop.engine.cancellation import Cancellation
from desktop.engine.hardware import default_threads
from desktop.engine.pool import EnginePool, LentModel
from desktop.engine.protocol import (
    ChatMessage,
    GeneratedToken,
    GenerationRequest,
    GenerationStats,
    Sampling,
)
from desktop.engine.text_model import TextModel, TextStream
from desktop.errors import LanternError
from desktop.services.generation_steps import ended_if_stopped_waiting, marked_if_it_fails
from desktop.services.models import ModelService
from desktop.services.playground_parameters import (
    PlaygroundParameters,
    PlaygroundPrompt,
    token_as_json,
    token_from_json,
)
from desktop.services.runs import FLUSH_INTERVAL_S
from desktop.services.sessions import SessionService
from desktop.settings import Settings
from desktop.store.db import Database
from desktop.store.playground import PlaygroundPresets, PlaygroundRunRecord, PlaygroundRuns
from desktop.store.sessions import RunStatus

if TYPE_CHECKING:
    from desktop.services.models import RunnableModel

LANES = 2


@dataclass(frozen=True)
class LaneRequest:
    """One side of a run: which model, with which parameters."""

    model_id: str
    parameters: PlaygroundParameters


@dataclass(frozen=True)
class PromptPreview:
    text: str  # exactly what the model is given (the chat template applied)
    tokens: int  # by the model's own tokenizer, special tokens included
    estimate: str | None = None  # None: `tokens` is exact; else why it is an estimate


@dataclass(frozen=True)
class RunProgress:
    """What a run added since the last progress: text, and its tokens when asked for."""

    text: str
    tokens: tuple[GeneratedToken, ...]


class PlaygroundService(SessionService[PlaygroundRunRecord]):
    def __init__(
        self, db: Database, models: ModelService, engines: EnginePool, settings: Settings
    ) -> None:
        self.runs = PlaygroundRuns(db)
        super().__init__(self.runs)
        self.presets = PlaygroundPresets(db)
        self._models = models
        self._engines = engines
        self._settings = settings

    def lease(self, model: RunnableModel, cancelled: Cancellation | None = None) -> LentModel:
        """`model`, loaded, lent to one side of a run: an interactive lease. Two sides on one
        model run in two processes of it, memory allowing. Waiting for it ends when
        `cancelled` is set (WaitCancelled)."""
        return self._engines.lease(model, "interactive", "playground", cancelled=cancelled)

    def preview_lease(self, model: RunnableModel) -> LentModel:
        """`model` lent for a look at a prompt: pauses no run, unloads no model
        (ModelNotLoadedYet when it would take that: engine/pool.py)."""
        return self._engines.preview(model, "interactive", "playground")

    def model(self, model_id: str) -> RunnableModel:
        return self._models.choose(model_id)

    # ---- before a run ----

    def preview(self, model_id: str, prompt: PlaygroundPrompt) -> PromptPreview:
        """What the model would be given and its length in tokens (loads the model where
        that unloads no other: ModelNotLoadedYet if it would). A remote server applies the
        chat template itself: a chat's text is then unknown ('') and its count an estimate
        (the messages' text alone). `estimate` says why a count is one."""
        with self.preview_lease(self.model(model_id)) as model:
            can = model.capabilities
            if prompt.mode == "chat":
                if can.rendered_prompt is not None:  # a remote server's model
                    # The messages' tokens, without what its template adds around each.
                    tokens = sum(model.count_tokens(m.content) for m in prompt.messages)
                    alone = f"{can.rendered_prompt} The count is the messages' text alone."
                    why = " ".join(filter(None, (alone, can.exact_token_counts)))
                    return PromptPreview("", tokens, why)
                rendered = model.render_chat(prompt.messages)
                return PromptPreview(rendered.text, rendered.tokens)
            if can.exact_token_counts is not None:
                return PromptPreview(
                    prompt.prompt, model.count_tokens(prompt.prompt), can.exact_token_counts
                )
            return PromptPreview(
                prompt.prompt, len(model.tokenize(prompt.prompt, add_special=True))
            )

    def recommended(self, model_id: str, current: PlaygroundParameters) -> PlaygroundParameters:
        """`current` with its sampling reset to Lantern's defaults under the model's own
        recommendations (loads the model: they are read from its file)."""
        with self.preview_lease(self.model(model_id)) as model:
            return current.with_recommended(model.loaded.recommended_sampling)

    # ---- runs ----

    def start(self, prompt: PlaygroundPrompt, sides: Sequence[LaneRequest]) -> list[PlaygroundRun]:
        """One run per side (at most two), saved before they start; iterate each one (two
        side by side: each in its own thread) to run it. Side by side, the CPU threads are
        shared out between the two engines."""
        if not 1 <= len(sides) <= LANES:
            raise ValueError(f"A Playground run has 1 or {LANES} sides, not {len(sides)}.")
        threads = self._side_by_side_threads() if len(sides) > 1 else None
        runs: list[PlaygroundRun] = []
        comparison_id: int | None = None
        for lane, side in enumerate(sides):
            model = self.model(side.model_id)
            record = self.runs.create(
                title=prompt.title,
                mode=prompt.mode,
                setup=prompt.setup,
                prompt=prompt.prompt,
                messages=[[m.role, m.content] for m in prompt.messages]
                if prompt.mode == "chat"
                else None,
                parameters=side.parameters.as_json(),
                model_id=model.id,
                comparison_id=comparison_id,
                lane=lane,
            )
            if len(sides) > 1 and comparison_id is None:
                comparison_id = record.id
                self.runs.change(record.id, comparison_id=comparison_id)
            runs.append(
                PlaygroundRun(self, record.id, lane, prompt, side.parameters, model, threads)
            )
        return runs

    def branch(self, run_id: int, position: int, token_id: int) -> PlaygroundRun:
        """A new run that keeps run `run_id`'s first `position` tokens, puts the alternative
        `token_id` in place of the next one, and goes on from there."""
        source = self.runs.get(run_id)
        tokens = [token_from_json(t) for t in source.tokens]
        if not 0 <= position < len(tokens):
            raise PlaygroundError(f"Run {run_id} has no token {position + 1}.")
        at = tokens[position]
        chosen = next((a for a in at.alternatives if a.token_id == token_id), None)
        if chosen is None:
            raise PlaygroundError(
                f"That token is not one of the alternatives at token {position + 1}."
            )
        forced = [*tokens[:position], GeneratedToken(chosen, at.alternatives, forced=True)]
        prompt = _prompt_of(source)
        parameters = PlaygroundParameters.from_json(source.parameters)
        if not source.model_id:
            raise PlaygroundError("This run does not say which model made it: run it again.")
        model = self.model(source.model_id)
        record = self.runs.create(
            title=source.title,
            mode=source.mode,
            setup=source.setup,
            prompt=source.prompt,
            messages=source.messages,
            parameters=source.parameters,
            model_id=model.id,
            lane=source.lane,
            branch_of=source.id,
            branch_at=position,
            output="".join(t.choice.text for t in forced),
            tokens=[token_as_json(t) for t in forced],
        )
        return PlaygroundRun(self, record.id, source.lane, prompt, parameters, model, None, forced)

    def reopen(self, run_id: int) -> PlaygroundRunRecord:
        return self.runs.get(run_id)

    def session(self, run_id: int) -> list[PlaygroundRunRecord]:
        """A saved run with the one started side by side with it, if any, by side."""
        record = self.runs.get(run_id)
        if record.comparison_id is None:
            return [record]
        return self.runs.comparison(record.comparison_id)

    def _side_by_side_threads(self) -> int:
        return max(1, (self._settings.threads or default_threads()) // LANES)


class PlaygroundError(LanternError, ValueError):
    pass


class PlaygroundRun:
    """One side of a run: a ServiceRun[RunProgress, PlaygroundRun] (services/runs.py).
    Iterate it for RunProgress; afterwards `status` and `stats` say how it ended. `cancel()`
    may be called from any thread: what was written is kept."""

    def __init__(
        self,
        service: PlaygroundService,
        run_id: int,
        lane: int,
        prompt: PlaygroundPrompt,
        parameters: PlaygroundParameters,
        model: RunnableModel,
        threads: int | None,
        forced: Sequence[GeneratedToken] = (),
    ) -> None:
        self.run_id = run_id
        self.lane = lane
        self.prompt = prompt
        self.parameters = parameters
        self.model = model
        self._service = service
        self._threads = threads
        self._forced = list(forced)
        self.tokens: list[GeneratedToken] = list(forced)
        self.output = "".join(t.choice.text for t in forced)
        self.status: RunStatus = "running"
        self.stats: GenerationStats | None = None
        self._cancelled = Cancellation()  # Stop: also ends a wait for the model
        self._stream: TextStream | None = None

    @property
    def outcome(self) -> PlaygroundRun:
        """How the run ended, once the iteration has (the run itself: status, stats, output)."""
        return self

    def cancel(self) -> None:
        self._cancelled.set()
        stream = self._stream
        if stream is not None:
            stream.cancel()

    def __iter__(self) -> Iterator[RunProgress]:
        return ended_if_stopped_waiting(self._progress())

    def _progress(self) -> Iterator[RunProgress]:
        runs = self._service.runs
        loaded_at = time.monotonic()
        cancelled = self._cancelled
        with marked_if_it_fails(self._finish), self._service.lease(self.model, cancelled) as model:
            load_s = time.monotonic() - loaded_at
            # Saved as the model was given it (a server applies its chat template unseen).
            if self.prompt.mode == "chat" and model.capabilities.rendered_prompt is None:
                runs.change(self.run_id, prompt=model.render_chat(self.prompt.messages).text)
            with self._generate(model) as stream:
                self._stream = stream
                if self._cancelled.is_set():
                    stream.cancel()
                flushed_at = time.monotonic()
                seen = 0
                for text in stream:
                    new = tuple(stream.tokens[seen:])
                    seen = len(stream.tokens)
                    self.output += text
                    self.tokens.extend(new)
                    yield RunProgress(text, new)
                    if time.monotonic() - flushed_at >= FLUSH_INTERVAL_S:
                        self._save()
                        flushed_at = time.monotonic()
            finished = stream.finished
            assert finished is not None
            self.stats = finished.stats
            stats = dataclasses.asdict(finished.stats) | {"load_s": round(load_s, 3)}
            stats["finish_reason"] = finished.finish_reason
            runs.change(self.run_id, stats=stats)
        self._finish("cancelled" if finished.finish_reason == "cancelled" else "complete")

    def _generate(self, model: TextModel) -> TextStream:
        sampling: Sampling = self.parameters.sampling
        if self._forced:  # the answer's length counts the tokens kept from the first run
            sampling = dataclasses.replace(
                sampling, max_tokens=max(1, sampling.max_tokens - len(self._forced))
            )
        chat = self.prompt.mode == "chat"
        return model.generate(
            GenerationRequest(
                messages=self.prompt.messages if chat else (),
                prompt=None if chat else self.prompt.prompt,
                sampling=sampling,
                # Evaluated afresh: the same seed and settings then give the same answer.
                reuse_cached_prompt=False,
                constraint=self.parameters.constraint,
                logprobs=self.parameters.alternatives,
                forced_tokens=tuple(t.choice.token_id for t in self._forced),
                threads=self._threads,
            )
        )

    def _save(self) -> None:
        self._service.runs.change(
            self.run_id, output=self.output, tokens=[token_as_json(t) for t in self.tokens]
        )

    def _finish(self, status: RunStatus, error: str | None = None) -> None:
        self.status = status
        self._service.runs.change(
            self.run_id,
            output=self.output,
            tokens=[token_as_json(t) for t in self.tokens],
            status=status,
            error=error,
        )


def _prompt_of(record: PlaygroundRunRecord) -> PlaygroundPrompt:
    if record.mode == "chat":
        messages = tuple(ChatMessage(role, content) for role, content in record.messages or [])  # type: ignore[arg-type]
        return PlaygroundPrompt("chat", messages=messages, setup=record.setup)
    return PlaygroundPrompt("raw", prompt=record.prompt, setup=record.setup)
