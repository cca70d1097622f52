"""Who the API serves next. Each model serves a set number of requests at a time (one: on a
CPU a second generation only halves the speed of the first); the others wait their turn in
the order they came, so that none is passed over. The queue is bounded: a request that finds
it full is refused at once with when to try again (ServerBusy, the server's 429), rather
than wait without end while its client times out."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from desktop.engine.cancellation import Cancellation
from desktop.errors import ServerBusy, WaitCancelled

DEFAULT_QUEUE_CAPACITY = 16  # requests waiting, beside those being served
DEFAULT_PER_MODEL = 1
# Retry-After when nothing has been served yet to time, and the most it says.
FIRST_RETRY_AFTER_S = 1
LONGEST_RETRY_AFTER_S = 60
TIMED_REQUESTS = 20  # recent requests whose service time gives the Retry-After


@dataclass(frozen=True)
class AdmissionState:
    waiting: int
    running: int


class Admission:
    """Thread-safe. `enter()` takes a place (ServerBusy when the queue is full); the ticket's
    `wait()` blocks until its turn; `leave()` gives the place up, served or not."""

    def __init__(
        self, capacity: int = DEFAULT_QUEUE_CAPACITY, per_model: int = DEFAULT_PER_MODEL
    ) -> None:
        self.capacity = capacity
        self.per_model = per_model
        self._changed = threading.Condition()
        self._waiting: deque[Ticket] = deque()  # in the order they came
        self._running: list[Ticket] = []
        self._served_s: deque[float] = deque(maxlen=TIMED_REQUESTS)

    def enter(self, model_id: str) -> Ticket:
        """A place for a request to `model_id`: served at once if the model is free and
        nobody waits for it, else queued. ServerBusy when every place in the queue is taken."""
        ticket = Ticket(self, model_id)
        with self._changed:
            if self._may_start(model_id) and not self._waits_for(model_id):
                self._start(ticket)
            elif len(self._waiting) >= self.capacity:
                raise ServerBusy(
                    f"The server is busy: {len(self._running)} requests are being served and "
                    f"{len(self._waiting)} wait, as many as it queues. Try again shortly.",
                    self._retry_after_s(),
                )
            else:
                self._waiting.append(ticket)
            self._changed.notify_all()
        return ticket

    def state(self) -> AdmissionState:
        with self._changed:
            return AdmissionState(len(self._waiting), len(self._running))

    def wait_until(self, condition: Callable[[AdmissionState], bool], timeout: float) -> bool:
        """Block until `condition(state)` holds (True), or `timeout` seconds pass (False)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: condition(AdmissionState(len(self._waiting), len(self._running))),
                timeout,
            )

    def _may_start(self, model_id: str) -> bool:
        return sum(t.model_id == model_id for t in self._running) < self.per_model

    def _waits_for(self, model_id: str) -> bool:
        return any(t.model_id == model_id for t in self._waiting)

    def _start(self, ticket: Ticket) -> None:
        ticket.started_at = time.monotonic()
        self._running.append(ticket)

    def _retry_after_s(self) -> int:
        """About when a place frees: the queue's length times a recent request's time, spread
        over the models being served."""
        if not self._served_s:
            return FIRST_RETRY_AFTER_S
        typical = sum(self._served_s) / len(self._served_s)
        models = max(1, len({t.model_id for t in self._running}))
        estimate = math.ceil(typical * max(1, len(self._waiting)) / (models * self.per_model))
        return max(1, min(LONGEST_RETRY_AFTER_S, estimate))

    def _wait(self, ticket: Ticket, cancelled: Cancellation) -> None:
        with self._changed, cancelled.waking(self._changed):
            while ticket.started_at is None:
                if cancelled.is_set():
                    raise WaitCancelled("Stopped while waiting in the queue; nothing was served.")
                self._changed.wait()

    def _leave(self, ticket: Ticket) -> None:
        with self._changed:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            elif ticket in self._running:
                self._running.remove(ticket)
                assert ticket.started_at is not None
                self._served_s.append(time.monotonic() - ticket.started_at)
            # The first in line for each model whose place freed, in the order they came.
            for waiting in list(self._waiting):
                if self._may_start(waiting.model_id):
                    self._waiting.remove(waiting)
                    self._start(waiting)
            self._changed.notify_all()


class Ticket:
    """A request's place in the queue, then among those served."""

    def __init__(self, admission: Admission, model_id: str) -> None:
        self.model_id = model_id
        self.started_at: float | None = None  # set when its turn comes
        self._admission = admission
        self._left = False

    def wait(self, cancelled: Cancellation) -> None:
        """Until its turn; WaitCancelled when `cancelled` is set first."""
        self._admission._wait(self, cancelled)

    def leave(self) -> None:
        """Give the place up (again: nothing)."""
        if not self._left:
            self._left = True
            self._admission._leave(self)
