"""What every answer stream shares, whether a local engine or a remote server makes the
answer (engine/text_model.py's TextStream): the text kept as it comes (still there after an
error), `finished` and its stats, the stage before the first token that another thread may
wait for, and a stream left half-way (`close()`, or the end of its `with` block), which is
stopped and waited for until it settles.

A subclass makes the answer: `__iter__` appends each piece to `_pieces`, sets `finished` and
`_ended` at the end (or `_ended` before raising), and `cancel()` stops it from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Self

from desktop.engine.protocol import Finished, GeneratedToken, GenerationStage, GenerationStats
from desktop.errors import EngineCrashed, EngineFailed


class AnswerStream:
    def __init__(self) -> None:
        self.finished: Finished | None = None
        # With logprobs asked for: each generated token and its alternatives.
        self.tokens: list[GeneratedToken] = []
        self._pieces: list[str] = []
        self._ended = False  # the last word on it is read: finished, or an error
        self._stage: GenerationStage | None = None
        self._stage_changed = threading.Condition()

    @property
    def stats(self) -> GenerationStats | None:
        return self.finished.stats if self.finished else None

    @property
    def text(self) -> str:
        """The answer's text yielded so far: still there after an error ended the stream."""
        return "".join(self._pieces)

    @property
    def stage(self) -> GenerationStage | None:
        """Where the answer is before its first token (None before it starts)."""
        return self._stage

    def wait_for_stage(self, stage: GenerationStage, timeout: float) -> bool:
        """Wait (while another thread iterates) until the stream reports `stage`."""
        with self._stage_changed:
            return self._stage_changed.wait_for(lambda: self._stage == stage, timeout)

    def _reach(self, stage: GenerationStage) -> None:
        with self._stage_changed:
            self._stage = stage
            self._stage_changed.notify_all()

    def cancel(self) -> None:
        raise NotImplementedError

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop a stream that is abandoned half-way, and wait for it to settle (`finished`
        then says how it ended)."""
        if self._ended:
            return
        self.cancel()
        for _ in self:  # drain to the end, so that the next request starts clean
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None or not isinstance(exc, (EngineCrashed, EngineFailed)):
            try:
                self.close()
            except (EngineCrashed, EngineFailed):
                if exc_type is None:
                    raise
