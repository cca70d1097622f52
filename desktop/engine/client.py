"""The app's side of the engine: start, stop and restart the engine process, send requests,
and hand back its events. A dead engine process becomes an `EngineCrashed` error; the next
request starts a fresh process.

Thread-safe: a GUI thread may cancel while a worker thread reads the stream.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import queue
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any

from desktop.engine.protocol import (
    Cancel,
    ChatMessage,
    ContextPolicy,
    Event,
    Failed,
    Finished,
    Generate,
    GeneratedToken,
    GeneratedTokens,
    GenerationStats,
    HardwareReport,
    LoadModel,
    ModelLoaded,
    OutputConstraint,
    ProbeHardware,
    RenderChat,
    RenderedChat,
    Request,
    Sampling,
    Shutdown,
    Tokenize,
    Tokens,
    TokenText,
    Unloaded,
    UnloadModel,
)
from desktop.errors import (
    ContextOverflow,
    EngineCrashed,
    EngineFailed,
    InvalidConstraint,
    ModelLoadFailed,
    NoModelLoaded,
)
from desktop.models.gguf_info import ModelShape

log = logging.getLogger(__name__)

_ERRORS: dict[str, type[EngineFailed]] = {
    "model_load": ModelLoadFailed,
    "context_overflow": ContextOverflow,
    "no_model": NoModelLoaded,
    "bad_constraint": InvalidConstraint,
}


@dataclass(frozen=True)
class _EngineDied:
    """Put on every waiting queue when the process is gone."""

    error: EngineCrashed


_Inbox = queue.SimpleQueue[Event | _EngineDied]


class EngineClient:
    def __init__(self, log_file: Path) -> None:
        self._log_file = log_file
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # guards the process, the pipe and the waiting queues
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        # request id -> (the process it was sent to, where its events go)
        self._waiting: dict[int, tuple[BaseProcess, _Inbox]] = {}
        self._loaded: ModelLoaded | None = None

    # ---- lifecycle ----

    @property
    def loaded(self) -> ModelLoaded | None:
        """The model the running engine holds; None after a crash or before any load."""
        return self._loaded

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def close(self) -> None:
        with self._lock:
            process, conn = self._process, self._conn
            self._process = self._conn = None
            self._loaded = None
        if conn is not None:
            with contextlib.suppress(OSError):  # already gone
                conn.send(Shutdown())
        if process is not None:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        if conn is not None:
            conn.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_locked(self) -> tuple[BaseProcess, Connection]:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._process, self._conn
        from desktop.engine.worker import run_engine

        # spawn, never fork: the app has threads (Qt's among them) that fork would copy broken.
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe(duplex=True)
        process = context.Process(
            target=run_engine, args=(child, str(self._log_file)), name="lantern-engine", daemon=True
        )
        process.start()
        child.close()  # so that the engine's death reads as end-of-file here
        self._process, self._conn, self._loaded = process, parent, None
        threading.Thread(
            target=self._read_events, args=(process, parent), name="engine-events", daemon=True
        ).start()
        log.info("Engine process %s started", process.pid)
        return process, parent

    def _read_events(self, process: BaseProcess, conn: Connection) -> None:
        while True:
            try:
                event: Event = conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                waiting = self._waiting.get(event.request_id)
            if waiting is not None:
                waiting[1].put(event)
        process.join(timeout=5)
        error = EngineCrashed(_death_message(process.exitcode, self._log_file))
        with self._lock:
            if self._process is process:
                self._process = self._conn = None
                self._loaded = None
            # Only this process's requests: a request may already be with a fresh engine.
            waiting_queues = [inbox for owner, inbox in self._waiting.values() if owner is process]
        if process.exitcode not in (0, None):
            log.error("Engine process %s died: exit code %s", process.pid, process.exitcode)
        for inbox in waiting_queues:
            inbox.put(_EngineDied(error))

    def _submit(self, make: Any) -> tuple[int, _Inbox]:
        """Start the engine if needed, then send `make(request_id)`."""
        inbox: _Inbox = queue.SimpleQueue()
        with self._lock:
            process, conn = self._start_locked()
            request: Request = make(next(self._ids))
            self._waiting[request.request_id] = (process, inbox)
            try:
                conn.send(request)
            except OSError as exc:
                del self._waiting[request.request_id]
                raise EngineCrashed(_death_message(None, self._log_file)) from exc
        return request.request_id, inbox

    def _done(self, request_id: int) -> None:
        with self._lock:
            self._waiting.pop(request_id, None)

    def _call(self, make: Any) -> Event:
        request_id, inbox = self._submit(make)
        try:
            return _raise_for(inbox.get())
        finally:
            self._done(request_id)

    # ---- requests ----

    def load(
        self,
        model_path: Path,
        *,
        context_length: int,
        threads: int | None = None,
        gpu_layers: int | None = None,
        shape: ModelShape | None = None,
    ) -> ModelLoaded:
        event = self._call(
            lambda rid: LoadModel(rid, str(model_path), context_length, threads, gpu_layers, shape)
        )
        assert isinstance(event, ModelLoaded)
        self._loaded = event
        return event

    def unload(self) -> None:
        if self.pid is None:
            return
        event = self._call(UnloadModel)
        assert isinstance(event, Unloaded)
        self._loaded = None

    def tokenize(self, text: str, *, add_special: bool = False) -> tuple[int, ...]:
        event = self._call(lambda rid: Tokenize(rid, text, add_special))
        assert isinstance(event, Tokens)
        return event.tokens

    def render_chat(self, messages: tuple[ChatMessage, ...]) -> RenderedChat:
        """The chat as the loaded model's template writes it: the exact text it is given."""
        event = self._call(lambda rid: RenderChat(rid, messages))
        assert isinstance(event, RenderedChat)
        return event

    def probe_hardware(self) -> HardwareReport:
        event = self._call(ProbeHardware)
        assert isinstance(event, HardwareReport)
        return event

    def generate(
        self,
        *,
        messages: tuple[ChatMessage, ...] = (),
        prompt: str | None = None,
        sampling: Sampling | None = None,
        reuse_cached_prompt: bool = True,
        context_policy: ContextPolicy = "stop",
        continue_text: str = "",
        constraint: OutputConstraint | None = None,
        logprobs: int = 0,
        forced_tokens: tuple[int, ...] = (),
        threads: int | None = None,
    ) -> GenerationStream:
        """Start generating; iterate the stream for the answer's text. Raises from the stream.
        With `logprobs`, the stream's `tokens` fill with each token and its alternatives."""
        request_id, inbox = self._submit(
            lambda rid: Generate(
                rid,
                messages,
                prompt,
                sampling or Sampling(),
                reuse_cached_prompt,
                context_policy,
                continue_text,
                constraint,
                logprobs,
                forced_tokens,
                threads,
            )
        )
        return GenerationStream(self, request_id, inbox)

    def cancel(self, request_id: int) -> None:
        with self._lock:
            conn = self._conn
            if conn is None:
                return
            with contextlib.suppress(OSError):  # the engine is gone; the stream reports that
                conn.send(Cancel(request_id))


class GenerationStream:
    """The answer's text as it is generated. After the iteration, `finished` holds the
    finish reason and stats. `cancel()` may be called from any thread. When the request
    asked for logprobs, `tokens` holds the generated tokens so far, each with the text it
    added (the text yielded is theirs, joined)."""

    def __init__(
        self,
        client: EngineClient,
        request_id: int,
        inbox: _Inbox,
    ) -> None:
        self._client = client
        self.request_id = request_id
        self._inbox = inbox
        self.finished: Finished | None = None
        self.tokens: list[GeneratedToken] = []
        self._closed = False

    @property
    def stats(self) -> GenerationStats | None:
        return self.finished.stats if self.finished else None

    def cancel(self) -> None:
        if not self._closed:
            self._client.cancel(self.request_id)

    def __iter__(self) -> Iterator[str]:
        try:
            while True:
                event = _raise_for(self._inbox.get())
                if isinstance(event, TokenText):
                    yield event.text
                elif isinstance(event, GeneratedTokens):
                    self.tokens.extend(event.tokens)
                    yield "".join(token.choice.text for token in event.tokens)
                elif isinstance(event, Finished):
                    self.finished = event
                    return
        finally:
            self._closed = True
            self._client._done(self.request_id)

    def close(self) -> None:
        """Stop a stream that is abandoned half-way, and wait for the engine to settle."""
        if self._closed:
            return
        self.cancel()
        for _ in self:  # drain until Finished (or the crash) so the next request starts clean
            pass

    def __enter__(self) -> GenerationStream:
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


def _raise_for(event: Event | _EngineDied) -> Event:
    if isinstance(event, _EngineDied):
        raise event.error
    if isinstance(event, Failed):
        raise _ERRORS.get(event.kind, EngineFailed)(event.message)
    return event


def _death_message(exitcode: int | None, log_file: Path) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            how = f"it was stopped by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"it was stopped by signal {-exitcode}"
        if exitcode == -getattr(signal, "SIGKILL", 9):
            how += " (often the system running out of memory)"
    elif exitcode:
        how = f"it exited with code {exitcode}"
    else:
        how = "it stopped answering"
    return (
        f"The model engine stopped unexpectedly: {how}. Lantern is still running and keeps "
        f"what was written so far; the next request starts the engine again. Details: {log_file}"
    )
