"""A task's Stop, as the services hold it and the engine pool heeds it: a `threading.Event`
that also wakes the waits registered on it, so that a task waiting for the pool to lend it a
model (engine/pool.py) stops waiting the moment the user presses Stop, without polling."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Cancellation(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self._guard = threading.Lock()
        self._waits: list[threading.Condition] = []

    def set(self) -> None:
        super().set()
        with self._guard:
            waits = list(self._waits)
        for condition in waits:
            with condition:
                condition.notify_all()

    @contextmanager
    def waking(self, condition: threading.Condition) -> Iterator[None]:
        """While the block runs, `set()` notifies `condition`: a wait on it checks `is_set()`."""
        with self._guard:
            self._waits.append(condition)
        try:
            yield
        finally:
            with self._guard:
                self._waits.remove(condition)
