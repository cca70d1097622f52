"""Short reads and writes off the GUI thread: `run_in_background()` and a window's
`BackgroundTasks` run a call (the conversation list, a conversation, the models) on a
QThreadPool and hand its result or its exception back on the GUI thread. Long jobs that
stream (a chat turn, a summary) are service runs in a PageRun (ui/runs.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from desktop.errors import LanternError

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Lives in the GUI thread; signals emitted from the pool arrive here queued, so the
    callbacks run on the GUI thread (Anki's taskman pattern)."""

    done = Signal(object)
    error = Signal(object)  # the exception

    def __init__(
        self, on_done: Callable[[Any], None], on_error: Callable[[BaseException], None]
    ) -> None:
        super().__init__()
        self._on_done = on_done
        self._on_error = on_error
        self.done.connect(self._deliver_done)
        self.error.connect(self._deliver_error)

    @Slot(object)
    def _deliver_done(self, result: object) -> None:
        _pending.discard(self)
        self._on_done(result)

    @Slot(object)
    def _deliver_error(self, error: BaseException) -> None:
        _pending.discard(self)
        self._on_error(error)


# Relays waiting for their task; kept here so that Python does not collect them mid-flight.
_pending: set[_Relay] = set()


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:
            if not isinstance(exc, LanternError):
                log.exception("Background task failed", exc_info=exc)
            self._relay.error.emit(exc)
        else:
            self._relay.done.emit(result)


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
    *,
    pool: QThreadPool | None = None,
) -> None:
    """Run `fn()` on a pool thread; then `on_done(result)` or `on_error(exception)` on the GUI
    thread (`error_text(exception)` is what to show).

    Call from the GUI thread. Pass the window's own pool so that closing it can wait for it.
    """
    relay = _Relay(on_done, on_error)
    _pending.add(relay)
    (pool or QThreadPool.globalInstance()).start(_Task(fn, relay))


class BackgroundTasks:
    """The reads and writes of one window, on the window's pool. After `close()` nothing new
    starts and results still on their way are dropped: the widgets they were for are closing.
    The window waits for the pool itself (`QThreadPool.waitForDone`)."""

    def __init__(self, pool: QThreadPool) -> None:
        self._pool = pool
        self.closed = False

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        if self.closed:
            return  # the pool is being joined; nothing may start on it now

        def deliver(result: Any) -> None:
            if not self.closed:
                on_done(result)

        def fail(error: BaseException) -> None:
            if not self.closed:
                on_error(error)

        run_in_background(fn, deliver, fail, pool=self._pool)

    def close(self) -> None:
        self.closed = True
