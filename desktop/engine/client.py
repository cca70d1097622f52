"""The app's side of the engine: start, stop and restart the engine process, send requests,
and hand back its events. A dead engine process becomes an `EngineCrashed` error; the next
request starts a fresh process, unless the client was closed (`EngineClosed`).

Thread-safe: a GUI thread may cancel while a worker thread reads the stream.

When the engine does not answer, the client ends it (`EngineUnresponsive`), but only where
silence is sure to mean trouble. Loading a big model, or reading a long prompt on a slow CPU,
may take minutes without a word, so a request as such has no time limit. Two moments do:
- after Stop: the engine's reader thread answers at once for a request still queued behind
  another; the request being served checks for it while rendering the template, while
  reading the prompt (between batches, and on the CPU between the steps of one) and
  between tokens. A healthy engine answers within a token's time; STOP_TIMEOUT_S later it
  is ended;
- while the engine renders the model's chat template (it says so with StageReached before
  each render): it stops a render itself after RENDER_TIME_LIMIT_S, so one still silent
  STOP_TIMEOUT_S after that is stuck where it cannot help itself, and is ended.
A stream left before its end (a `break` out of the loop) sends Stop, so that the engine does
not go on to max_tokens while the next request waits.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.engine.answer_stream import AnswerStream
from desktop.engine.chat_template import RENDER_TIME_LIMIT_S
from desktop.engine.protocol import (
    Cancel,
    ChatMessage,
    Embed,
    Embeddings,
    Event,
    Failed,
    Finished,
    Generate,
    GeneratedTokens,
    GenerationRequest,
    GenerationStage,
    HardwareReport,
    LoadModel,
    ModelLoaded,
    ProbeHardware,
    RenderChat,
    RenderedChat,
    Request,
    Shutdown,
    StageReached,
    Tokenize,
    Tokens,
    TokenText,
    Tool,
    Unloaded,
    UnloadModel,
)
from desktop.errors import (
    ContextOverflow,
    EngineClosed,
    EngineCrashed,
    EngineFailed,
    EngineUnresponsive,
    InvalidChatTemplate,
    InvalidConstraint,
    ModelLoadFailed,
    NoModelLoaded,
)
from desktop.models.gguf_info import ModelShape

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)

# How long a Stop may go unanswered before the engine is ended. A healthy engine answers
# within one token, also while it reads the prompt: well under a second on a GPU, a second
# or two for a big model on a slow CPU; a queued request is answered at once. A person who
# pressed Stop and sees nothing for five seconds thinks the app is stuck; ending the engine
# costs only a model reload on the next request.
STOP_TIMEOUT_S = 5.0
# After SIGTERM, how long the engine may take to go before SIGKILL; and after SIGKILL.
KILL_WAIT_S = 2.0
# After Shutdown, how long the engine may take to free its model before SIGKILL.
SHUTDOWN_WAIT_S = 5.0
# Texts per Embed request. The engine packs them into batches of a context's worth of tokens
# either way; a smaller request lets the engine take other requests between them sooner.
EMBED_TEXTS_PER_REQUEST = 32

_ERRORS: dict[str, type[EngineFailed]] = {
    "model_load": ModelLoadFailed,
    "context_overflow": ContextOverflow,
    "no_model": NoModelLoaded,
    "bad_constraint": InvalidConstraint,
    "bad_template": InvalidChatTemplate,
}


@dataclass(frozen=True)
class _EngineDied:
    """Put on every waiting queue when the process is gone."""

    error: EngineCrashed


@dataclass(frozen=True)
class _StopAsked:
    """Wakes a stream's reader so that it starts timing the Stop."""


_Inbox = queue.SimpleQueue[Event | _EngineDied | _StopAsked]
# Events that come before a request's answer; any other event is its last.
_PROGRESS = (StageReached, TokenText, GeneratedTokens)


class EngineClient:
    def __init__(
        self,
        log_file: Path,
        *,
        stop_timeout_s: float = STOP_TIMEOUT_S,
        render_time_limit_s: float = RENDER_TIME_LIMIT_S,
    ) -> None:
        self._log_file = log_file
        self.stop_timeout_s = stop_timeout_s
        self.render_time_limit_s = render_time_limit_s
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # guards the process, the pipe and the waiting queues
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        # request id -> (the process it was sent to, where its events go), until its last event
        self._waiting: dict[int, tuple[BaseProcess, _Inbox]] = {}
        self._loaded: ModelLoaded | None = None
        # Processes ended for not answering -> why, for the requests that were waiting on them.
        self._ended: dict[BaseProcess, str] = {}
        self._closed = False  # close() was called: no engine is started again
        # Called with each new process's pid as it starts (the pool lowers a background
        # process's priority there: before it loads a model, not after).
        self.on_start: Callable[[int], None] | None = None

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
        """End the engine process; every later request fails with EngineClosed."""
        with self._lock:
            self._closed = True
            process, conn = self._process, self._conn
            self._forget_locked(process)
        if conn is not None:
            with contextlib.suppress(OSError):  # already gone
                conn.send(Shutdown())
        if process is not None:
            _end_process(process, SHUTDOWN_WAIT_S)
        if conn is not None:
            conn.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_locked(self) -> tuple[BaseProcess, Connection]:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._process, self._conn
        if self._closed:
            raise EngineClosed(
                "The model engine has been shut down, as Lantern is closing; what was written "
                "so far is kept."
            )
        from desktop.engine.worker import run_engine

        # spawn, never fork: the app has threads (Qt's among them) that fork would copy broken.
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe(duplex=True)
        process = context.Process(
            target=run_engine,
            args=(child, str(self._log_file), self.render_time_limit_s),
            name="lantern-engine",
            daemon=True,
        )
        process.start()
        child.close()  # so that the engine's death reads as end-of-file here
        if self.on_start is not None and process.pid is not None:
            self.on_start(process.pid)
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
                if isinstance(event, _PROGRESS):
                    waiting = self._waiting.get(event.request_id)
                else:  # its answer is complete
                    waiting = self._waiting.pop(event.request_id, None)
            if waiting is not None:
                waiting[1].put(event)
        process.join(timeout=SHUTDOWN_WAIT_S)
        with self._lock:
            why_ended = self._ended.pop(process, None)
            error = (
                EngineUnresponsive(why_ended)
                if why_ended is not None
                else EngineCrashed(_death_message(process.exitcode, self._log_file))
            )
            self._forget_locked(process)
            # Only this process's requests: a request may already be with a fresh engine.
            orphans = [rid for rid, (owner, _) in self._waiting.items() if owner is process]
            waiting_queues = [self._waiting.pop(rid)[1] for rid in orphans]
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

    def _forget_locked(self, process: BaseProcess | None) -> None:
        """Let go of `process` if it is the running engine (self._lock held): the next
        request starts a fresh one."""
        if self._process is process:
            self._process = self._conn = None
            self._loaded = None

    def _end_unresponsive(self, request_id: int, why: str) -> EngineUnresponsive:
        """End the engine process that `request_id` waits on (SIGTERM, then SIGKILL); the
        error for every request that waited on it. The next request starts a fresh one."""
        message = f"{why} Details: {self._log_file}"
        with self._lock:
            owner = self._waiting.get(request_id)
            process = owner[0] if owner is not None else None
            if process is not None:
                self._ended[process] = message
                self._forget_locked(process)
        if process is not None:
            log.warning("Engine process %s did not answer; ending it: %s", process.pid, why)
            process.terminate()
            _end_process(process, KILL_WAIT_S)
        return EngineUnresponsive(message)

    def _call(self, make: Any) -> Event:
        _, inbox = self._submit(make)
        return _raise_for(inbox.get())

    # ---- requests ----

    def load(
        self,
        model_path: Path,
        *,
        context_length: int,
        threads: int | None = None,
        gpu_layers: int | None = None,
        shape: ModelShape | None = None,
        embedding: bool = False,
    ) -> ModelLoaded:
        """Load a model for generating text, or with `embedding` for `embed()` only."""
        event = self._call(
            lambda rid: LoadModel(
                rid, str(model_path), context_length, threads, gpu_layers, shape, embedding
            )
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

    def embed(self, texts: Sequence[str], *, threads: int | None = None) -> npt.NDArray[np.float32]:
        """One L2-normalized float32 vector per text, a row each, in order (a zero vector for
        an empty text), from a model loaded for embeddings. ContextOverflow for a text longer
        than the context, EngineFailed on a model loaded for chat."""
        return self.embed_counted(texts, threads=threads)[0]

    def embed_counted(
        self, texts: Sequence[str], *, threads: int | None = None
    ) -> tuple[npt.NDArray[np.float32], int]:
        """`embed()`, and the texts' tokens as the model read them, all together."""
        import numpy as np

        batches, tokens = [], 0
        for start in range(0, len(texts), EMBED_TEXTS_PER_REQUEST):
            batch = tuple(texts[start : start + EMBED_TEXTS_PER_REQUEST])
            event = self._call(lambda rid, batch=batch: Embed(rid, batch, threads))
            assert isinstance(event, Embeddings)
            batches.append(event.vectors)
            tokens += event.tokens
        if not batches:
            size = self._loaded.embedding_size if self._loaded is not None else 0
            return np.zeros((0, size), dtype=np.float32), 0
        return np.concatenate(batches), tokens

    def render_chat(
        self, messages: tuple[ChatMessage, ...], *, tools: tuple[Tool, ...] = ()
    ) -> RenderedChat:
        """The chat as the loaded model's template writes it (with the `tools` it may call):
        the exact text it is given."""
        event = self._call(lambda rid: RenderChat(rid, messages, tools))
        assert isinstance(event, RenderedChat)
        return event

    def probe_hardware(self) -> HardwareReport:
        event = self._call(ProbeHardware)
        assert isinstance(event, HardwareReport)
        return event

    def generate(self, request: GenerationRequest) -> GenerationStream:
        """Start generating; iterate the stream for the answer's text. Raises from the stream.
        With `request.logprobs`, the stream's `tokens` fill with each token and its alternatives."""
        request_id, inbox = self._submit(lambda rid: Generate(rid, request))
        return GenerationStream(self, request_id, inbox)

    def cancel(self, request_id: int, *, to_resume: bool = False) -> None:
        """Stop a Generate; `to_resume`: to be resumed later (protocol.Cancel says how)."""
        with self._lock:
            conn = self._conn
            if conn is None:
                return
            with contextlib.suppress(OSError):  # the engine is gone; the stream reports that
                conn.send(Cancel(request_id, to_resume))


class GenerationStream(AnswerStream):
    """The answer's text as the engine generates it (engine/answer_stream.py has what every
    answer stream shares). When the request asked for logprobs, `tokens` holds the generated
    tokens so far, each with the text it added (the text yielded is theirs, joined)."""

    def __init__(
        self,
        client: EngineClient,
        request_id: int,
        inbox: _Inbox,
    ) -> None:
        super().__init__()
        self._client = client
        self.request_id = request_id
        self._inbox = inbox
        self._stop_deadline: float | None = None
        self._render_deadline: float | None = None

    def cancel(self) -> None:
        self._stop(to_resume=False)

    def stop_to_resume(self) -> None:
        """Stop it to go on later with a request of its own (the pool's background lane
        yielding): text held back at the stop is dropped, to be made again then."""
        self._stop(to_resume=True)

    def _stop(self, *, to_resume: bool) -> None:
        if self._ended:
            return
        if self._stop_deadline is None:
            self._stop_deadline = time.monotonic() + self._client.stop_timeout_s
        self._client.cancel(self.request_id, to_resume=to_resume)
        self._inbox.put(_StopAsked())

    def __iter__(self) -> Iterator[str]:
        try:
            while not self._ended:
                event = self._next_event()
                if isinstance(event, TokenText):
                    self._pieces.append(event.text)
                    yield event.text
                elif isinstance(event, GeneratedTokens):
                    self.tokens.extend(event.tokens)
                    text = "".join(token.choice.text for token in event.tokens)
                    self._pieces.append(text)
                    yield text
                elif isinstance(event, StageReached):
                    self._reach(event.stage)
                elif isinstance(event, Finished):
                    self.finished = event
                    self._ended = True
        except (EngineCrashed, EngineFailed):
            self._ended = True
            raise
        finally:
            if not self._ended:  # left half-way: the engine would go on up to max_tokens
                self._client.cancel(self.request_id)  # while the next request waits

    def _reach(self, stage: GenerationStage) -> None:
        client = self._client
        # Each render (one more per message left out to fit) has a limit of its own.
        self._render_deadline = (
            time.monotonic() + client.render_time_limit_s + client.stop_timeout_s
            if stage == "rendering"
            else None
        )
        super()._reach(stage)

    def _next_event(self) -> Event:
        """The next event; past a time limit (see the module's docstring), the engine is
        ended and EngineUnresponsive raised."""
        while True:
            limit = self._time_limit()
            timeout = None if limit is None else max(0.0, limit[0] - time.monotonic())
            try:
                item = self._inbox.get(timeout=timeout)
            except queue.Empty:
                assert limit is not None
                raise self._client._end_unresponsive(self.request_id, limit[1]) from None
            if not isinstance(item, _StopAsked):
                return _raise_for(item)

    def _time_limit(self) -> tuple[float, str] | None:
        """The earliest deadline the engine must answer by, and what to tell the user then."""
        limits = []
        if self._stop_deadline is not None:
            limits.append((self._stop_deadline, _unresponsive_to_stop(self._client.stop_timeout_s)))
        if self._render_deadline is not None:
            limits.append((self._render_deadline, _stuck_rendering(self._client)))
        return min(limits) if limits else None


def _end_process(process: BaseProcess, grace_s: float) -> None:
    """Give `process` `grace_s` to go (after Shutdown or SIGTERM), then SIGKILL it."""
    process.join(grace_s)
    if process.is_alive():  # stuck in native code, or stopped (SIGSTOP)
        process.kill()
        process.join(KILL_WAIT_S)


def _unresponsive_to_stop(stop_timeout_s: float) -> str:
    return (
        f"The model engine did not stop within {stop_timeout_s:g} seconds of Stop, so Lantern "
        "ended it. What was written so far is kept; the next request starts the engine again "
        "and loads the model anew."
    )


def _stuck_rendering(client: EngineClient) -> str:
    seconds = client.render_time_limit_s + client.stop_timeout_s
    return (
        f"The model engine spent more than {seconds:g} seconds on this model's chat template "
        "without finishing, so Lantern ended it. The model file's template is broken or "
        "hostile; use another download of the model, or another model."
    )


def _raise_for(event: Event | _EngineDied | _StopAsked) -> Event:
    assert not isinstance(event, _StopAsked)
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
