"""A background lease's generation that yields its engine process to an interactive lease
borrowing it (engine/pool.py), then goes on where it stopped, as one answer.

The pause stops the background request at its next token (protocol.Cancel `to_resume`: the
text the engine held back at that point is dropped, not given as final), and the rest is a
new request whose prompt is the original one followed by the text so far: the prompt is read
again, as the interactive request has taken the process's KV cache. The stream's text, its
tokens and its stats add the parts up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial

from desktop.engine.answer_stream import AnswerStream
from desktop.engine.client import GenerationStream
from desktop.engine.protocol import Finished, FinishReason, GenerationStage, GenerationStats
from desktop.errors import EngineCrashed, EngineFailed

log = logging.getLogger(__name__)


class Yielding:
    """Where a background process's generation learns that an interactive lease wants the
    process: `pause()` stops the one running at its next token and holds back the next one;
    `resume()` lets it go on."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._paused = False
        self._running: GenerationStream | None = None  # the background request running
        self._stopped: GenerationStream | None = None  # the one pause() stopped

    def pause(self) -> None:
        with self._changed:
            if self._paused:
                return
            self._paused = True
            if self._running is not None:
                self._stopped = self._running
                self._running.stop_to_resume()

    def resume(self) -> None:
        with self._changed:
            self._paused = False
            self._changed.notify_all()

    def wake(self) -> None:
        """A waiting generation was cancelled: let it see that."""
        with self._changed:
            self._changed.notify_all()

    def start(
        self, begin: Callable[[], GenerationStream], cancelled: threading.Event
    ) -> GenerationStream | None:
        """Wait while paused, then begin the request (None if cancelled meanwhile)."""
        with self._changed:
            self._changed.wait_for(lambda: not self._paused or cancelled.is_set())
            if cancelled.is_set():
                return None
        # Outside the lock: beginning may start a process and load the model again.
        stream = begin()
        with self._changed:
            self._running = stream
            if self._paused:  # paused while it began
                self._stopped = stream
                stream.stop_to_resume()
        return stream

    def ended(self, stream: GenerationStream) -> bool:
        """The request ended; True if pause() stopped it (and it did stop for that)."""
        with self._changed:
            if self._running is stream:
                self._running = None
            stopped = self._stopped is stream
            if stopped:
                self._stopped = None
            finished = stream.finished
            return stopped and finished is not None and finished.finish_reason == "cancelled"


class YieldingStream(AnswerStream):
    """A background lease's generation (a TextStream) that stops for an interactive lease
    borrowing its process and then goes on: the text after the pause follows the text
    before it, as one answer; its stats add the parts up."""

    def __init__(self, yielding: Yielding, start: Callable[[str, int], GenerationStream]) -> None:
        super().__init__()
        self._yielding = yielding
        self._start = start  # (text so far, tokens so far) -> the request going on from them
        self._cancelled = threading.Event()
        self._stream: GenerationStream | None = None  # the part running, or the last one
        self._parts: list[GenerationStream] = []  # the parts that have ended
        self._tokens_before = 0  # of `tokens`, those of the parts before the running one
        self._began = time.monotonic()

    @property
    def stage(self) -> GenerationStage | None:
        stream = self._stream
        return stream.stage if stream is not None else None

    def wait_for_stage(self, stage: GenerationStage, timeout: float) -> bool:
        stream = self._stream
        return stream is not None and stream.wait_for_stage(stage, timeout)

    def cancel(self) -> None:
        self._cancelled.set()
        stream = self._stream
        if stream is not None:
            stream.cancel()
        self._yielding.wake()

    def close(self) -> None:
        """Abandoned half-way: stop the part running, wait for the engine to settle it, and
        end with the parts counted."""
        if self._ended:
            return
        self.cancel()
        stream = self._stream
        try:
            if stream is not None and stream not in self._parts:
                stream.close()
                self._settle(stream)
        except (EngineCrashed, EngineFailed):
            self._ended = True
            raise
        if not self._ended:
            self._end("cancelled")

    def __iter__(self) -> Iterator[str]:
        try:
            while not self._ended:
                yield from self._part()
        except (EngineCrashed, EngineFailed):
            self._ended = True
            raise

    def _part(self) -> Iterator[str]:
        """One request: until its end, or until it stops for an interactive lease."""
        begin = partial(self._start, self.text, self._generated())
        stream = self._yielding.start(begin, self._cancelled)
        if stream is None:  # cancelled while it waited
            self._end("cancelled")
            return
        self._stream = stream
        self._tokens_before = len(self.tokens)
        try:
            with stream:
                if self._cancelled.is_set():
                    stream.cancel()
                for piece in stream:
                    self._pieces.append(piece)
                    self.tokens[self._tokens_before :] = stream.tokens  # as they come
                    yield piece
        except (EngineCrashed, EngineFailed):
            self._yielding.ended(stream)
            raise
        self._settle(stream)

    def _settle(self, stream: GenerationStream) -> None:
        """A part has ended: count it; end the answer unless it stopped for a pause."""
        self.tokens[self._tokens_before :] = stream.tokens
        self._parts.append(stream)
        if not self._yielding.ended(stream) or self._cancelled.is_set():
            assert stream.finished is not None
            self._end(stream.finished.finish_reason)
        else:
            log.info("A background generation stopped for an interactive request; it goes on")

    def _generated(self) -> int:
        """Tokens the parts so far generated (what the next part's length is counted from)."""
        return sum(p.finished.stats.generated_tokens for p in self._parts if p.finished)

    def _end(self, reason: FinishReason) -> None:
        stats = [p.finished.stats for p in self._parts if p.finished is not None]
        first = stats[0] if stats else None
        generated = self._generated()
        total = time.monotonic() - self._began
        writing = sum(s.total_s - s.time_to_first_token_s for s in stats)
        combined = GenerationStats(
            prompt_tokens=first.prompt_tokens if first else 0,
            cached_prompt_tokens=first.cached_prompt_tokens if first else 0,
            generated_tokens=generated,
            time_to_first_token_s=first.time_to_first_token_s if first else 0.0,
            prompt_tokens_per_s=first.prompt_tokens_per_s if first else 0.0,
            generation_tokens_per_s=generated / writing if writing > 0 else 0.0,
            total_s=total,
            dropped_messages=first.dropped_messages if first else 0,
            seed=first.seed if first else None,
        )
        request_id = self._parts[-1].request_id if self._parts else 0
        self.finished = Finished(request_id, reason, combined)
        self._ended = True
