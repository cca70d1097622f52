"""The engine pool: one engine process per loaded model, started and stopped within this
machine's memory, in two lanes, lent to a task for as long as it needs its model.

- **Processes.** A lease asks for a model; the pool lends it an idle engine process holding
  that model, or starts one. A process's cost is counted from the fit estimate and from what
  it is measured to hold once loaded: a model file's weights once per file (processes of one
  model map the same pages), and each process's private memory (its KV cache and buffers;
  also the weights where llama.cpp repacks them into a buffer of its own, as its CPU_REPACK
  does for some quantizations). A process that would not fit beside the others ends the
  least recently used idle one first; a model that cannot fit at all is refused.
- **Lanes.** Interactive work (a chat, the Playground) never waits behind background work (a
  summary, a translation, indexing). A background process runs at the lowest OS priority, so
  on a CPU an interactive process beside it keeps the cores (engine/cpu_share.py gives the
  background one fewer threads while the other is busy, and all of them back once it is
  idle). Where memory allows no second process of the model, an interactive lease borrows
  the background lease's process: the background generation stops at its next token and,
  once the interactive lease is over, goes on where it stopped (its prompt is evaluated
  again: the interactive request has taken the process's KV cache).
- **Leases.** A task holds its model for all its steps: a summary's every step runs on the
  process it was lent, whatever the chat loads meanwhile. Release the lease when done (it is
  a context manager); an idle process stays loaded for the next lease until memory is
  wanted for another model.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union

import psutil

from desktop.engine.answer_stream import AnswerStream
from desktop.engine.client import EngineClient, GenerationStream
from desktop.engine.protocol import (
    ChatMessage,
    Finished,
    FinishReason,
    GenerationRequest,
    GenerationStage,
    GenerationStats,
    HardwareReport,
    ModelLoaded,
    RenderedChat,
)
from desktop.engine.text_model import LOCAL_CAPABILITIES, Capabilities
from desktop.errors import EngineCrashed, EngineFailed, NotEnoughMemory
from desktop.models.fit import RAM_HEADROOM_BYTES, MachineMemory, fit_estimate
from desktop.models.installed import InstalledModel
from desktop.models.machine import machine_memory

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from desktop.engine.remote import RemoteModel

log = logging.getLogger(__name__)

Lane = Literal["interactive", "background"]
EMBEDDING_CONTEXT = 512  # tokens: the longest text an embedding process takes
# A model lent to a task: a process of the pool, or a remote server's model.
LentModel = Union["ModelLease", "RemoteModel"]


@dataclass(frozen=True)
class EngineSettings:
    """How every process loads its model (the user's settings)."""

    context_length: int
    threads: int | None = None
    gpu_layers: int | None = None


@dataclass(frozen=True)
class EngineView:
    """One engine process, as the window and `lantern engines` show it."""

    model_id: str
    lane: Lane
    pid: int | None
    context_length: int
    counted_bytes: int  # what the pool counts it as holding
    private_bytes: int  # measured: memory this process alone holds
    task: str | None  # what holds it now ("chat", "summary", ...); None: idle
    borrowed_by: str | None  # an interactive task using a background task's process


def private_bytes(pid: int | None) -> int:
    """Memory a process holds that no other process shares: its KV cache, buffers and any
    weights llama.cpp has copied (repacked); not the model file's mapped pages."""
    if pid is None:
        return 0
    try:
        process = psutil.Process(pid)
        if sys.platform.startswith("linux"):
            info = process.memory_info()
            return max(0, info.rss - info.shared)  # RssAnon: not the mapped file
        if sys.platform == "win32":
            return int(process.memory_info().private)
        return int(process.memory_full_info().uss)  # macOS: counts the file's pages too
    except (psutil.Error, OSError):
        return 0


def lower_priority(pid: int | None) -> None:
    """The background lane's process: the lowest OS priority, so that it yields the CPU."""
    if pid is None:
        return
    try:
        process = psutil.Process(pid)
        if sys.platform == "win32":
            process.nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
        else:
            process.nice(19)
    except (psutil.Error, OSError) as exc:
        log.warning("Could not lower engine process %s's priority: %s", pid, exc)


def machine_budget(pids: list[int]) -> int:
    """RAM the engines may take in all: what is available now, plus what the pool's own
    processes already hold privately (it counts them itself), less the headroom."""
    available = machine_memory().ram_available
    return available + sum(private_bytes(pid) for pid in pids) - RAM_HEADROOM_BYTES


@dataclass(frozen=True)
class _How:
    """How a process holds its model: at which context, for generating or for embeddings."""

    context: int
    embedding: bool


def _held_by(slot: _Slot) -> str:
    task = slot.holder.task if slot.holder else "task"
    return f"{slot.model.id} (a {task})"


class _Slot:
    """An engine process of the pool: the model it holds, its lane, who holds it."""

    def __init__(self, model: InstalledModel, how: _How, lane: Lane, client: EngineClient) -> None:
        self.model = model
        self.how = how
        self.lane = lane
        self.client = client
        self.loaded: ModelLoaded | None = None
        self.holder: ModelLease | None = None
        self.borrower: ModelLease | None = None  # an interactive lease on a background slot
        self.cost = 0  # bytes the pool counts it as holding
        self.last_used = time.monotonic()
        self.load_lock = threading.Lock()
        self.yielding = _Yielding()

    @property
    def idle(self) -> bool:
        return self.holder is None and self.borrower is None

    def matches(self, model: InstalledModel, how: _How) -> bool:
        return self.model.path == model.path and self.how == how


class EnginePool:
    def __init__(
        self,
        log_file: Path,
        settings: EngineSettings,
        *,
        budget: Callable[[list[int]], int] = machine_budget,
        machine: Callable[[], MachineMemory] = machine_memory,
        client: Callable[[Path], EngineClient] = EngineClient,
    ) -> None:
        self._log_file = log_file
        self._settings = settings
        self._budget = budget
        self._machine = machine
        self._new_client = client
        self._slots: list[_Slot] = []
        self._lock = threading.Condition()  # guards the slots; notified when one is let go
        self._closed = False

    # ---- leases ----

    def lease(
        self, model: InstalledModel | RemoteModel, lane: Lane = "interactive", task: str = "chat"
    ) -> LentModel:
        """A process holding `model`, lent until the lease is released; loads the model first
        if no idle process holds it (seconds for a large one). Waits while every process the
        model could have is busy with another task; NotEnoughMemory when it can never fit.
        A remote server's model is its own lease: the server holds it, Lantern nothing."""
        if not isinstance(model, InstalledModel):
            return model
        return self._lend(model, lane, task, embedding=False)

    def embedder(
        self, model: InstalledModel, lane: Lane = "background", task: str = "indexing"
    ) -> ModelLease:
        """A process holding `model` loaded for embeddings (its `embed()`), lent like
        `lease()`: a process of its own, as Lantern generates on no model loaded so (every
        prompt token would be an output there)."""
        return self._lend(model, lane, task, embedding=True)

    def _lend(self, model: InstalledModel, lane: Lane, task: str, *, embedding: bool) -> ModelLease:
        # Embeddings: a passage's worth of context (a text is pooled within one batch of it;
        # 512 embedded fastest of the sizes measured, and buffers grow with its square).
        window = EMBEDDING_CONTEXT if embedding else self._settings.context_length
        how = _How(min(window, model.info.context_length), embedding)
        lease = ModelLease(self, lane, task)
        slot = self._take(lease, model, how)
        try:
            self._load(slot)
        except BaseException:
            lease.release()
            raise
        lease.slot = slot
        return lease

    def _take(self, lease: ModelLease, model: InstalledModel, how: _How) -> _Slot:
        with self._lock:
            self._refuse_if_it_can_never_fit(model, how)
            while True:
                if self._closed:
                    raise RuntimeError("The engine pool is closed.")
                # A process in the lease's lane (a background one runs at a low priority and
                # stays so); else any idle one of the model, rather than unloading another.
                slot = (
                    self._idle_slot(model, how, lease.lane)
                    or self._new_slot(model, how, lease.lane, make_room=False)
                    or self._idle_slot(model, how, None)
                    or self._new_slot(model, how, lease.lane, make_room=True)
                )
                if slot is not None:
                    slot.holder = lease
                    return slot
                if lease.lane == "interactive":
                    slot = self._background_slot_to_borrow(model, how)
                    if slot is not None:
                        slot.borrower = lease
                        slot.yielding.pause()
                        return slot
                    self._refuse_to_wait_for_background(model)
                self._lock.wait()  # until a lease is released

    def _idle_slot(self, model: InstalledModel, how: _How, lane: Lane | None) -> _Slot | None:
        """An idle process holding `model`, in `lane` (None: in either)."""
        return next(
            (s for s in self._slots if s.idle and s.matches(model, how) and lane in (None, s.lane)),
            None,
        )

    def _background_slot_to_borrow(self, model: InstalledModel, how: _How) -> _Slot | None:
        return next(
            (
                s
                for s in self._slots
                if s.matches(model, how)
                and s.borrower is None
                and s.holder is not None
                and s.holder.lane == "background"
            ),
            None,
        )

    def _new_slot(
        self, model: InstalledModel, how: _How, lane: Lane, *, make_room: bool
    ) -> _Slot | None:
        """A new process for `model` if it fits; with `make_room`, after ending idle ones
        (least recently used first) until it does. None when it does not fit."""
        while True:
            cost = self._cost_of_new(model, how)
            if cost is not None:
                slot = _Slot(model, how, lane, self._new_client(self._log_file))
                slot.cost = cost
                self._slots.append(slot)
                return slot
            idle = sorted((s for s in self._slots if s.idle), key=lambda s: s.last_used)
            if not make_room or not idle:
                return None
            self._end(idle[0])

    def _cost_of_new(self, model: InstalledModel, how: _How) -> int | None:
        """What a new process of `model` would be counted as holding, if it fits now."""
        sibling = next((s for s in self._slots if s.model.path == model.path), None)
        shared = model.info.shape.file_bytes if sibling is not None else 0
        room = self._room()
        machine = self._machine()
        # The fit estimate keeps its own headroom; the budget has already kept it.
        estimate = fit_estimate(
            model.info.shape,
            how.context,
            replace(machine, ram_available=room + shared + RAM_HEADROOM_BYTES),
        )
        if estimate.verdict == "too_big":
            return None
        cost = estimate.in_ram - shared
        if sibling is not None:  # what a process of this model was measured to hold alone
            cost = max(cost, private_bytes(sibling.client.pid))
        return cost if cost <= room else None

    def _room(self) -> int:
        pids = [pid for s in self._slots if (pid := s.client.pid) is not None]
        return self._budget(pids) - sum(s.cost for s in self._slots)

    def _refuse_if_it_can_never_fit(self, model: InstalledModel, how: _How) -> None:
        """NotEnoughMemory for a model that would not fit even with every process of the
        pool ended: waiting for one would never end."""
        pids = [pid for s in self._slots if (pid := s.client.pid) is not None]
        room = self._budget(pids)  # as if the pool held nothing
        machine = self._machine()
        estimate = fit_estimate(
            model.info.shape, how.context, replace(machine, ram_available=room + RAM_HEADROOM_BYTES)
        )
        if estimate.verdict == "too_big":
            raise NotEnoughMemory(f"{model.id} cannot be loaded. {estimate.summary()}")

    def _refuse_to_wait_for_background(self, model: InstalledModel) -> None:
        """An interactive lease never waits for a background task to end: when only such a
        task's model keeps `model` out of memory, say so instead."""
        busy = [s for s in self._slots if not s.idle]
        if busy and all(s.holder is not None and s.holder.lane == "background" for s in busy):
            held = ", ".join(
                sorted({f"{s.model.id} (a {s.holder.task})" for s in busy if s.holder})
            )
            raise NotEnoughMemory(
                f"{model.id} does not fit in memory beside {held}. Stop that task, or wait "
                "for it to end, or use the model it uses."
            )

    def _load(self, slot: _Slot) -> None:
        """Load the slot's model unless its process holds it (a crash loses it)."""
        with slot.load_lock:
            client = slot.client
            if client.loaded is not None and client.pid is not None:
                return
            settings = self._settings
            slot.loaded = client.load(
                slot.model.path,
                context_length=slot.how.context,
                embedding=slot.how.embedding,
                threads=settings.threads,
                gpu_layers=settings.gpu_layers,
                shape=slot.model.info.shape,
            )
            if slot.lane == "background":
                lower_priority(client.pid)
            with self._lock:  # now measured: a repacked model holds more than estimated
                shared = slot.model.info.shape.file_bytes if self._first_of_file(slot) else 0
                slot.cost = max(slot.cost, shared + private_bytes(client.pid))

    def _first_of_file(self, slot: _Slot) -> bool:
        return next(s for s in self._slots if s.model.path == slot.model.path) is slot

    def _release(self, lease: ModelLease) -> None:
        with self._lock:
            for slot in self._slots:
                if slot.holder is lease:
                    slot.holder = None
                    slot.last_used = time.monotonic()
                if slot.borrower is lease:
                    slot.borrower = None
                    slot.last_used = time.monotonic()
                    slot.yielding.resume()
            self._lock.notify_all()

    def _end(self, slot: _Slot) -> None:
        """End an idle process (self._lock held)."""
        self._slots.remove(slot)
        log.info("Ending the engine of %s (%s lane) to make room", slot.model.id, slot.lane)
        slot.client.close()

    # ---- what the pool holds ----

    def engines(self) -> list[EngineView]:
        with self._lock:
            slots = list(self._slots)
        return [
            EngineView(
                s.model.id,
                s.lane,
                s.client.pid,
                s.how.context,
                s.cost,
                private_bytes(s.client.pid),
                s.holder.task if s.holder else None,
                s.borrower.task if s.borrower else None,
            )
            for s in slots
        ]

    def unload_idle(self) -> int:
        """End every idle process (the memory back to the system); how many were ended."""
        with self._lock:
            idle = [s for s in self._slots if s.idle]
            for slot in idle:
                self._end(slot)
            return len(idle)

    def probe_hardware(self) -> HardwareReport:
        """The backend and devices llama.cpp sees, asked of an engine process of its own."""
        with self._new_client(self._log_file) as client:
            return client.probe_hardware()

    def __enter__(self) -> EnginePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            slots, self._slots = self._slots, []
            self._lock.notify_all()
        for slot in slots:
            slot.client.close()


class ModelLease:
    """A model lent to a task (a TextModel, engine/text_model.py): every request goes to the
    process it was lent. Release it when the task is done (or use it as a context manager)."""

    def __init__(self, pool: EnginePool, lane: Lane, task: str) -> None:
        self._pool = pool
        self.lane = lane
        self.task = task
        self.slot: _Slot | None = None
        self._released = False

    @property
    def loaded(self) -> ModelLoaded:
        assert self.slot is not None and self.slot.loaded is not None
        return self.slot.loaded

    @property
    def capabilities(self) -> Capabilities:
        return LOCAL_CAPABILITIES

    @property
    def pid(self) -> int | None:
        return self._client.pid

    @property
    def _client(self) -> EngineClient:
        assert self.slot is not None
        return self.slot.client

    def generate(self, request: GenerationRequest) -> GenerationStream | YieldingStream:
        assert self.slot is not None
        client = self._client

        def start(done: str, tokens_done: int) -> GenerationStream:
            """The request, going on after `done` (text already generated) when resumed."""
            if not tokens_done:  # the first start, or paused before its first token
                return client.generate(request)
            if request.prompt is not None:
                going_on = replace(request, prompt=request.prompt + done)
            else:
                going_on = replace(request, continue_text=request.continue_text + done)
            left = max(1, request.sampling.max_tokens - tokens_done)
            return client.generate(
                replace(
                    going_on,
                    sampling=replace(request.sampling, max_tokens=left),
                    forced_tokens=(),  # they lead the text already generated
                )
            )

        if self.lane == "background" and self.slot.holder is self:
            return YieldingStream(self.slot.yielding, start)
        return start("", 0)

    def tokenize(self, text: str, *, add_special: bool = False) -> tuple[int, ...]:
        return self._client.tokenize(text, add_special=add_special)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text)) if text else 0

    def render_chat(self, messages: tuple[ChatMessage, ...]) -> RenderedChat:
        return self._client.render_chat(messages)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One normalized vector per text (a lease from `EnginePool.embedder`)."""
        return self._client.embed(texts)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._pool._release(self)

    def __enter__(self) -> ModelLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class _Yielding:
    """Where a background slot's generation learns that an interactive lease wants the
    process: `pause()` stops the one running at its next token; `resume()` lets it go on."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._paused = False
        self._running: GenerationStream | None = None  # the background request running
        self._stopped: GenerationStream | None = None  # the one pause() stopped

    def pause(self) -> None:
        with self._changed:
            self._paused = True
            if self._running is not None:
                self._stopped = self._running
                self._running.cancel()

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
            self._running = begin()
            return self._running

    def ended(self, stream: GenerationStream) -> bool:
        """The request ended; True if pause() stopped it (and it did stop for that)."""
        with self._changed:
            self._running = None
            stopped, self._stopped = self._stopped is stream, None
            finished = stream.finished
            return stopped and finished is not None and finished.finish_reason == "cancelled"


class YieldingStream(AnswerStream):
    """A background lease's generation (a TextStream) that stops for an interactive lease
    borrowing its process and then goes on: the text after the pause follows the text
    before it, as one answer; its stats add the parts up."""

    def __init__(self, yielding: _Yielding, start: Callable[[str, int], GenerationStream]) -> None:
        super().__init__()
        self._yielding = yielding
        self._start = start
        self._cancelled = threading.Event()
        self._stream: GenerationStream | None = None
        self._parts: list[GenerationStream] = []
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
        with stream:
            if self._cancelled.is_set():
                stream.cancel()
            for piece in stream:
                self._pieces.append(piece)
                yield piece
            self.tokens.extend(stream.tokens)
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
