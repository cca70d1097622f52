"""The engine pool: one engine process per loaded model, started and stopped within this
machine's memory, in two lanes, lent to a task for as long as it needs its model.

- **Processes.** A lease asks for a model; the pool lends it an idle engine process holding
  that model, or starts one. A process's cost is counted from the fit estimate and from what
  it is measured to hold once loaded (engine/pool_memory.py): a model file's weights in RAM
  (those not given to the GPU) once per file, as long as any process maps it (processes of
  one model map the same pages), and each process's private memory (its KV cache and
  buffers; also the weights where llama.cpp repacks them into a buffer of its own, as its
  CPU_REPACK does for some quantizations). GPU memory that a process being loaded is to
  take is not offered to another meanwhile. A
  process that would not fit beside the others ends idle ones first, least recently used
  first and only as many as it takes (none when ending them all would not make room); a
  model that cannot fit at all is refused, and so is one that no longer fits when nothing is
  left to wait for. A process that dies (a crash) is given its model again at its lease's
  next request. Processes are ended outside the pool's lock: their wait never holds up
  another lease.
- **Lanes.** Interactive work (a chat, the Playground) never waits behind background work (a
  summary, a translation, indexing). A background process runs at a lower OS priority
  (engine/priority.py), so on a CPU an interactive process beside it keeps the cores
  (engine/cpu_share.py leaves the background one's CPU time out of the interactive one's
  count). An interactive lease makes room for a process of its own rather than take an idle
  background process of its model, which it takes only when no room can be made: it then
  runs at that low priority (raising it again needs privileges). Where memory allows no
  second process of the model, an interactive lease borrows the background lease's process:
  at its first request the background generation stops at its next token and, once the
  interactive lease is over, goes on where it stopped (engine/yielding_stream.py).
- **Leases.** A task holds its model for all its steps: a summary's every step runs on the
  process it was lent, whatever the chat loads meanwhile. Release the lease when done (it is
  a context manager); an idle process stays loaded for the next lease until memory is
  wanted for another model. A lease waits while every process the model could have is busy
  with another task; the task's `Cancellation` ends that wait (`WaitCancelled`).
- **Previews.** A look at a prompt (its token count, the chat as the template writes it, a
  summary's plan) borrows nothing and waits for nothing: `preview()` lends any process
  holding the model, busy or not (the request waits its turn in that process), else a new
  one where it fits beside the others without ending any.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union

from desktop.engine.cancellation import Cancellation
from desktop.engine.client import EngineClient, GenerationStream
from desktop.engine.pool_memory import machine_budget, private_bytes, private_cost
from desktop.engine.priority import lower_priority
from desktop.engine.protocol import (
    ChatMessage,
    GenerationRequest,
    HardwareReport,
    ModelLoaded,
    RenderedChat,
    Tool,
)
from desktop.engine.text_model import LOCAL_CAPABILITIES, Capabilities
from desktop.engine.yielding_stream import Yielding, YieldingStream
from desktop.errors import EngineClosed, ModelNotLoadedYet, NotEnoughMemory, WaitCancelled
from desktop.models.fit import RAM_HEADROOM_BYTES, FitEstimate, MachineMemory, fit_estimate
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
    # What the pool counts it as holding: its own memory, and its model file's pages in RAM
    # on the first process listed of each file (the others map the same pages). Summed over
    # the views: the pool's whole count.
    counted_bytes: int
    private_bytes: int  # measured: memory this process alone holds
    task: str | None  # what holds it now ("chat", "summary", ...); None: idle
    borrowed_by: str | None  # an interactive task using a background task's process


@dataclass(frozen=True)
class _How:
    """How a process holds its model: at which context, for generating or for embeddings."""

    context: int
    embedding: bool


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
        self.previews: list[ModelLease] = []  # leases looking at a prompt meanwhile
        self.cost = 0  # private bytes counted; its model file's pages are counted per file
        self.weights = 0  # of its model file's pages, those in RAM (not given to the GPU)
        self.gpu = 0  # GPU memory it takes (from the fit estimate)
        self.last_used = time.monotonic()
        self.load_lock = threading.Lock()
        self.yielding = Yielding()

    @property
    def idle(self) -> bool:
        return self.holder is None and self.borrower is None and not self.previews

    def matches(self, model: InstalledModel, how: _How) -> bool:
        return self.model.path == model.path and self.how == how


def _counted(slots: Sequence[_Slot]) -> int:
    """RAM the pool counts `slots` as holding: each model file's pages in RAM once (as much
    as the process of the file that has the most of them in RAM), and what each process
    holds privately."""
    return sum(_mapped(slots).values()) + sum(s.cost for s in slots)


def _mapped(slots: Sequence[_Slot]) -> dict[Path, int]:
    """Each model file's pages in RAM, by file."""
    files: dict[Path, int] = {}
    for slot in slots:
        files[slot.model.path] = max(files.get(slot.model.path, 0), slot.weights)
    return files


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
        # Processes being ended (outside the lock): their memory is on its way back.
        self._ending: list[_Slot] = []
        self._lock = threading.Condition()  # guards the slots; notified when one is let go
        self._closed = False

    # ---- leases ----

    def lease(
        self,
        model: InstalledModel | RemoteModel,
        lane: Lane = "interactive",
        task: str = "chat",
        *,
        cancelled: Cancellation | None = None,
    ) -> LentModel:
        """A process holding `model`, lent until the lease is released; loads the model first
        if no idle process holds it (seconds for a large one). Waits while every process the
        model could have is busy with another task, until `cancelled` is set (WaitCancelled);
        NotEnoughMemory when it can never fit. A remote server's model is its own lease: the
        server holds it, Lantern nothing."""
        if not isinstance(model, InstalledModel):
            return model
        return self._lend(model, lane, task, embedding=False, cancelled=cancelled)

    def embedder(
        self, model: InstalledModel, lane: Lane = "background", task: str = "indexing"
    ) -> ModelLease:
        """A process holding `model` loaded for embeddings (its `embed()`), lent like
        `lease()`: a process of its own, as Lantern generates on no model loaded so (every
        prompt token would be an output there)."""
        return self._lend(model, lane, task, embedding=True, cancelled=None)

    def preview(self, model: InstalledModel | RemoteModel, lane: Lane, task: str) -> LentModel:
        """`model` lent for a look at a prompt (tokenize, render_chat, `loaded`; it does not
        generate): any process holding the model, even one busy with another task (the
        request waits its turn there; no task is paused for it), else a new one in `lane`
        where it fits beside the others. Never waits, never ends another process:
        ModelNotLoadedYet when the model would need that."""
        if not isinstance(model, InstalledModel):
            return model
        how = self._how(model, embedding=False)
        lease = ModelLease(self, lane, task, preview=True)
        with self._lock:
            self._check_open()
            holding = [s for s in self._slots if s.matches(model, how)]
            slot = next((s for s in holding if s.idle), holding[0] if holding else None)
            if slot is None:
                self._refuse_if_it_can_never_fit(model, how)
                slot = self._new_slot(model, how, lane, ending=[])
            if slot is None:
                raise ModelNotLoadedYet(
                    f"{model.id} is not loaded, and there is no room for it beside the models "
                    "loaded now without unloading one. Its tokens are counted once a run has "
                    "loaded it."
                )
            slot.previews.append(lease)
            lease.slot = slot
        self._load_for(lease)
        return lease

    def _how(self, model: InstalledModel, *, embedding: bool) -> _How:
        # Embeddings: a passage's worth of context (a text is pooled within one batch of it;
        # 512 embedded fastest of the sizes measured, and buffers grow with its square).
        window = EMBEDDING_CONTEXT if embedding else self._settings.context_length
        return _How(min(window, model.info.context_length), embedding)

    def _lend(
        self,
        model: InstalledModel,
        lane: Lane,
        task: str,
        *,
        embedding: bool,
        cancelled: Cancellation | None,
    ) -> ModelLease:
        lease = ModelLease(self, lane, task)
        ending = self._take(lease, model, self._how(model, embedding=embedding), cancelled)
        self._end_processes(ending, "to make room")
        self._load_for(lease)
        return lease

    def _load_for(self, lease: ModelLease) -> None:
        """Load the lease's model; a load refused leaves no process behind."""
        slot = lease.slot
        assert slot is not None
        try:
            self._load(slot)
        except BaseException:
            lease.release()
            self._end_if_unloaded(slot)
            raise

    def _take(
        self, lease: ModelLease, model: InstalledModel, how: _How, cancelled: Cancellation | None
    ) -> list[_Slot]:
        """Give `lease` a process (`lease.slot`); the idle processes to end for it."""
        waking = cancelled.waking(self._lock) if cancelled is not None else nullcontext()
        with self._lock, waking:
            while True:
                self._check_open()
                if cancelled is not None and cancelled.is_set():
                    raise WaitCancelled("Stopped while waiting for the model; nothing was loaded.")
                ending = self._take_now(lease, model, how)
                if ending is not None:
                    return ending
                if all(s.idle for s in self._slots):  # nothing to wait for
                    raise self._cannot_fit(model, how)
                if lease.lane == "interactive":
                    self._refuse_to_wait_for_background(model)
                self._lock.wait()  # until a lease is released, or `cancelled` is set

    def _take_now(self, lease: ModelLease, model: InstalledModel, how: _How) -> list[_Slot] | None:
        """Give `lease` a process now if one can be had (self._lock held): the idle processes
        to end for it; None when it must wait."""
        own_lane = self._idle_slot(model, how, lease.lane)
        if own_lane is not None:  # a background one stays at its low priority
            return self._hold(own_lane, lease)
        self._refuse_if_it_can_never_fit(model, how)
        slot = self._new_slot(model, how, lease.lane, ending=[])
        if slot is not None:
            return self._hold(slot, lease)
        other_lane = self._idle_slot(model, how, None)
        if lease.lane == "background" and other_lane is not None:
            # The idle chat process of the model, rather than unloading it to load it again.
            return self._hold(other_lane, lease)
        ending = self._room_to_make(model, how)
        if ending is not None:
            slot = self._new_slot(model, how, lease.lane, ending)
            assert slot is not None
            self._hold(slot, lease)
            return ending
        if other_lane is not None:  # interactive, at the background's low priority: see above
            return self._hold(other_lane, lease)
        if lease.lane == "interactive":
            slot = self._background_slot_to_borrow(model, how)
            if slot is not None:  # its generation pauses at the lease's first request
                slot.borrower = lease
                lease.slot = slot
                return []
        return None

    def _hold(self, slot: _Slot, lease: ModelLease) -> list[_Slot]:
        slot.holder = lease
        lease.slot = slot
        return []

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

    def _room_to_make(self, model: InstalledModel, how: _How) -> list[_Slot] | None:
        """The idle processes to end, least recently used first, for a new process of `model`
        to fit: as few as it takes; None when ending all of them would not do. An idle
        process of `model` itself is kept: it is better lent than loaded again."""
        endable = sorted(
            (s for s in self._slots if s.idle and not s.matches(model, how)),
            key=lambda s: s.last_used,
        )
        remaining = list(self._slots)
        budget = self._budget_now()
        for count, slot in enumerate(endable, start=1):
            remaining.remove(slot)
            if self._cost_of_new(model, how, remaining, budget) is not None:
                return endable[:count]
        return None

    def _new_slot(
        self, model: InstalledModel, how: _How, lane: Lane, ending: list[_Slot]
    ) -> _Slot | None:
        """A new process for `model`, if it fits once the processes `ending` are ended (they
        are then taken out of the pool, to be ended outside the lock). None if it does not."""
        remaining = [s for s in self._slots if s not in ending]
        cost = self._cost_of_new(model, how, remaining, self._budget_now())
        if cost is None:
            return None
        for old in ending:
            self._slots.remove(old)
            self._ending.append(old)
        slot = _Slot(model, how, lane, self._new_client(self._log_file))
        if lane == "background":
            # From its start: loading a model is seconds of CPU the window must not wait on.
            slot.client.on_start = lower_priority
        slot.weights, slot.cost, slot.gpu = cost
        self._slots.append(slot)
        return slot

    def _cost_of_new(
        self, model: InstalledModel, how: _How, slots: list[_Slot], budget: MachineMemory
    ) -> tuple[int, int, int] | None:
        """What a new process of `model` beside `slots` would be counted as holding (its
        file's pages in RAM, private RAM, GPU memory), if it fits in `budget`; None if not."""
        mapped = _mapped(slots).get(model.path, 0)  # its file's pages already in RAM
        room = budget.ram_available - _counted(slots)
        gpu_room = budget.gpu_free - sum(s.gpu for s in slots)
        # The fit estimate keeps its own headroom; the budget has already kept it.
        machine = replace(
            budget, ram_available=room + mapped + RAM_HEADROOM_BYTES, gpu_free=max(0, gpu_room)
        )
        estimate = fit_estimate(model.info.shape, how.context, machine)
        if estimate.verdict == "too_big":
            return None
        # The weights in RAM are the file's pages; the rest is the process's own (more if a
        # process of this model was measured to hold more).
        weights = min(model.info.shape.file_bytes, estimate.in_ram)
        measured = [s.cost for s in slots if s.matches(model, how) and s.loaded is not None]
        private = max([estimate.in_ram - weights, *measured])
        needed = private + max(0, weights - mapped)
        return (weights, private, estimate.on_gpu) if needed <= room else None

    def _budget_now(self) -> MachineMemory:
        """The RAM and GPU memory the pool may count in all: what is free, and what its own
        processes hold (they are counted apart; what those being ended hold comes back). A
        process still loading holds nothing on the GPU yet: its share is counted all the
        same, so that no other load is promised it meanwhile."""
        slots = self._slots + self._ending
        ram = self._budget([pid for s in slots if (pid := s.client.pid) is not None])
        machine = self._machine()
        loaded_gpu = sum(s.gpu for s in slots if s.client.loaded is not None)
        return replace(machine, ram_available=ram, gpu_free=machine.gpu_free + loaded_gpu)

    def _refuse_if_it_can_never_fit(self, model: InstalledModel, how: _How) -> None:
        """NotEnoughMemory for a model that would not fit even with every process of the
        pool ended: waiting for one would never end. Asked again at every wait, as other
        programs take memory meanwhile."""
        if self._fit_alone(model, how).verdict == "too_big":
            raise self._cannot_fit(model, how)

    def _cannot_fit(self, model: InstalledModel, how: _How) -> NotEnoughMemory:
        return NotEnoughMemory(
            f"{model.id} cannot be loaded. {self._fit_alone(model, how).summary()}"
        )

    def _fit_alone(self, model: InstalledModel, how: _How) -> FitEstimate:
        budget = self._budget_now()  # as if the pool held nothing
        machine = replace(budget, ram_available=budget.ram_available + RAM_HEADROOM_BYTES)
        return fit_estimate(model.info.shape, how.context, machine)

    def _refuse_to_wait_for_background(self, model: InstalledModel) -> None:
        """An interactive lease never waits for a background task to end: when only such a
        task's model keeps `model` out of memory, say so instead. (It waits for an
        interactive task, and for one borrowing a background process.)"""
        busy = [s for s in self._slots if not s.idle]
        if busy and all(
            s.holder is not None
            and s.holder.lane == "background"
            and s.borrower is None
            and not s.previews
            for s in busy
        ):
            held = ", ".join(
                sorted({f"{s.model.id} (a {s.holder.task})" for s in busy if s.holder})
            )
            raise NotEnoughMemory(
                f"{model.id} does not fit in memory beside {held}. Stop that task, or wait "
                "for it to end, or use the model it uses."
            )

    def _check_open(self) -> None:
        if self._closed:
            raise EngineClosed("The model engines have been shut down, as Lantern is closing.")

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
            with self._lock:
                alone = not any(
                    s is not slot and s.model.path == slot.model.path for s in self._slots
                )
            # Now measured (outside the lock): a repacked model holds more than estimated.
            measured = private_cost(client.pid, sole_mapping_of=slot.weights if alone else 0)
            with self._lock:
                slot.cost = max(slot.cost, measured)

    def _release(self, lease: ModelLease) -> None:
        with self._lock:
            slot = lease.slot
            if slot is not None:
                if slot.holder is lease:
                    slot.holder = None
                if slot.borrower is lease:
                    slot.borrower = None
                    slot.yielding.resume()
                if lease in slot.previews:
                    slot.previews.remove(lease)
                slot.last_used = time.monotonic()
            self._lock.notify_all()

    def _end_if_unloaded(self, slot: _Slot) -> None:
        """End a process whose model could not be loaded, unless another lease holds it."""
        with self._lock:
            unwanted = slot.client.loaded is None and slot.idle and slot in self._slots
            if unwanted:
                self._slots.remove(slot)
                self._ending.append(slot)
        if unwanted:
            self._end_processes([slot], "as its model could not be loaded")

    def _end_processes(self, slots: list[_Slot], why: str) -> None:
        """End processes already taken out of the pool (in self._ending), without the lock."""
        for slot in slots:
            log.info("Ending the engine of %s (%s lane) %s", slot.model.id, slot.lane, why)
            slot.client.close()
        with self._lock:
            for slot in slots:
                self._ending.remove(slot)

    # ---- what the pool holds ----

    def engines(self) -> list[EngineView]:
        with self._lock:
            slots = list(self._slots)
            files = _mapped(slots)
            counted = [s.cost + files.pop(s.model.path, 0) for s in slots]
        return [
            EngineView(
                s.model.id,
                s.lane,
                s.client.pid,
                s.how.context,
                cost,
                private_bytes(s.client.pid),
                s.holder.task if s.holder else None,
                s.borrower.task if s.borrower else None,
            )
            for s, cost in zip(slots, counted, strict=True)
        ]

    def unload_idle(self) -> int:
        """End every idle process (the memory back to the system); how many were ended."""
        with self._lock:
            idle = [s for s in self._slots if s.idle]
            for slot in idle:
                self._slots.remove(slot)
                self._ending.append(slot)
        self._end_processes(idle, "as asked")
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
        """End every process. A lease used afterwards fails with EngineClosed (a paused
        background generation too: it is let go on, to meet that)."""
        with self._lock:
            self._closed = True
            slots, self._slots = self._slots, []
            self._lock.notify_all()
        for slot in slots:
            slot.client.close()
            slot.yielding.resume()


class ModelLease:
    """A model lent to a task (a TextModel, engine/text_model.py): every request goes to the
    process it was lent. Release it when the task is done (or use it as a context manager).
    A `preview` lease (EnginePool.preview) looks at prompts and does not generate."""

    def __init__(self, pool: EnginePool, lane: Lane, task: str, *, preview: bool = False) -> None:
        self._pool = pool
        self.lane = lane
        self.task = task
        self.preview = preview
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

    def _ready(self) -> EngineClient:
        """The lease's process, ready for a request: borrowed, its background generation
        first pauses (at its next token); dead (a crash), it is given the model again."""
        slot = self.slot
        assert slot is not None
        if slot.borrower is self:
            slot.yielding.pause()
        # A process found dead (a crash) before its reader has told the client so is just as
        # empty: its next start holds no model either.
        if slot.client.loaded is None or slot.client.pid is None:
            self._pool._load(slot)
        return slot.client

    def generate(self, request: GenerationRequest) -> GenerationStream | YieldingStream:
        assert self.slot is not None
        if self.preview:
            raise RuntimeError("A preview lease looks at prompts; it does not generate.")

        def start(done: str, tokens_done: int) -> GenerationStream:
            """The request, going on after `done` (text already generated) when resumed."""
            client = self._ready()
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
        return self._ready().tokenize(text, add_special=add_special)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text)) if text else 0

    def render_chat(
        self, messages: tuple[ChatMessage, ...], *, tools: tuple[Tool, ...] = ()
    ) -> RenderedChat:
        return self._ready().render_chat(messages, tools=tools)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One normalized vector per text (a lease from `EnginePool.embedder`)."""
        return self._ready().embed(texts)

    def embed_counted(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.float32], int]:
        """`embed()`, and the texts' tokens as the model read them, all together."""
        return self._ready().embed_counted(texts)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._pool._release(self)

    def __enter__(self) -> ModelLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
