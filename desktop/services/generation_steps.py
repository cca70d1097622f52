"""Generations run one after another for one task (the parts of a summary, the segments of a
translation) on the model lent to the task for all its steps, any of which `cancel()` stops
from another thread, with what each one cost."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from desktop.engine.cancellation import Cancellation
from desktop.engine.protocol import ChatMessage, GenerationRequest, GenerationStats, Sampling
from desktop.engine.text_model import TextModel, TextStream
from desktop.errors import EngineCrashed, LanternError, WaitCancelled

EventT = TypeVar("EventT")


@dataclass(frozen=True)
class StepCost:
    kind: str  # what the step was for: "part", "combine", "final", "segment"
    prompt_tokens: int
    generated_tokens: int
    prompt_s: float  # to the first token
    seconds: float  # the whole step

    @classmethod
    def of(cls, kind: str, stats: GenerationStats) -> StepCost:
        return cls(
            kind,
            stats.prompt_tokens,
            stats.generated_tokens,
            stats.time_to_first_token_s,
            stats.total_s,
        )


def token_counter(model: TextModel) -> Callable[[str], int]:
    """The model's own count, remembered: a chunker asks about the same pieces again."""
    known: dict[str, int] = {}

    def count(text: str) -> int:
        if text not in known:
            known[text] = model.count_tokens(text)
        return known[text]

    return count


class GenerationSteps:
    """The steps of one task. `model` is set when the task starts: the model lent to it."""

    def __init__(self) -> None:
        self.model: TextModel | None = None
        # Also what the task's lease waits with: Stop ends the wait for the model too.
        self.cancellation = Cancellation()
        self._stream: TextStream | None = None
        self.costs: list[StepCost] = []

    @property
    def cancelled(self) -> bool:
        return self.cancellation.is_set()

    def cancel(self) -> None:
        self.cancellation.set()
        stream = self._stream
        if stream is not None:
            stream.cancel()

    def generate(
        self, kind: str, messages: Sequence[ChatMessage], sampling: Sampling
    ) -> Iterator[str]:
        """The step's text as it comes. A step cut short by cancel() ends early; the caller
        checks `cancelled` after it."""
        if self.cancelled:
            return
        assert self.model is not None, "the task's model is lent when it starts"
        with self.model.generate(
            GenerationRequest(messages=tuple(messages), sampling=sampling)
        ) as stream:
            self._stream = stream
            if self.cancelled:
                stream.cancel()
            yield from stream
        self._stream = None
        if stream.finished is not None and stream.finished.finish_reason != "cancelled":
            self.costs.append(StepCost.of(kind, stream.finished.stats))


class Pace:
    """How fast the engine reads prompts and writes tokens, as measured on the steps so far:
    to tell the user how long the rest will take."""

    def __init__(self, costs: list[StepCost]) -> None:
        self._costs = costs

    def seconds_for(self, prompt_tokens: int, generated_tokens: int) -> float | None:
        if not self._costs:
            return None
        read = sum(c.prompt_tokens for c in self._costs) / max(
            sum(c.prompt_s for c in self._costs), 1e-6
        )
        writing = [c for c in self._costs if c.generated_tokens > 1]
        write = (
            sum(c.generated_tokens for c in writing)
            / max(sum(c.seconds - c.prompt_s for c in writing), 1e-6)
            if writing
            else None
        )
        # A server that does not count the prompts it read: a step's wait for its first
        # token, as the steps so far had it.
        waits = [c.prompt_s for c in self._costs]
        seconds = prompt_tokens / read if read > 0 else sum(waits) / len(waits)
        if write:
            seconds += generated_tokens / write
        return seconds

    def mean_generated(self, kind: str, default: int) -> int:
        made = [c.generated_tokens for c in self._costs if c.kind == kind]
        return round(sum(made) / len(made)) if made else default


@contextmanager
def marked_if_it_fails(finish: Callable[..., None]) -> Iterator[None]:
    """However the block fails, `finish(status, error=...)` records why on the task (what
    it wrote is saved by then); then the error goes on to the caller."""
    try:
        yield
    except (KeyboardInterrupt, WaitCancelled):  # the user stopped it (Ctrl+C in a terminal)
        finish("cancelled")
        raise
    except EngineCrashed as exc:
        finish("interrupted", error=exc.message)
        raise
    except LanternError as exc:
        finish("failed", error=exc.message)
        raise
    except BaseException as exc:  # a bug, an abandoned iteration
        finish("interrupted", error=repr(exc))
        raise


def ended_if_stopped_waiting(events: Iterator[EventT]) -> Iterator[EventT]:
    """A run's events, ending quietly when the run was stopped while it waited for its model
    (WaitCancelled: `marked_if_it_fails` has marked it cancelled by then)."""
    try:
        yield from events
    except WaitCancelled:
        return
