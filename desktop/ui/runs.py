"""Service runs (`services/runs.py`) on a thread of their own, reporting by signals: how every
page runs its long jobs (a chat turn, a summary, a translation, a Playground side).

`RunWorker` is the generic worker (napari's GeneratorWorker: started / yielded / finished /
failed), moved to a QThread. `PageRun` is what a page holds: it starts one run at a time,
relays the worker's signals to the GUI thread, cancels it, and at shutdown cancels it and waits
for its thread, so that no thread outlives its page. A page connects to a PageRun's signals
once, in its constructor:

    self._run = PageRun(self, "lantern-summary")
    self._run.yielded.connect(self._on_event)
    self._run.finished.connect(self._on_finished)   # the outcome (a cancelled run too)
    self._run.failed.connect(self._on_failed)       # the exception; run.outcome: what was saved
    self._run.ended.connect(self._update_actions)   # the thread has ended
    ...
    self._run.start(lambda: lantern.summarize.summarize(source, options, model_id=model_id))
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from desktop.errors import LanternError
from desktop.services.runs import ServiceRun

log = logging.getLogger(__name__)

AnyRun = ServiceRun[Any, Any]


class RunWorker(QObject):
    """Starts a run and iterates it, in the thread it was moved to. `start` (a database write,
    a file read) runs in that thread too. Emits `started(run)` once the run exists, `yielded` for
    each of its events, then exactly one of `finished(outcome)` or `failed(exception)`."""

    started = Signal(object)  # the ServiceRun
    yielded = Signal(object)  # each event of the run
    finished = Signal(object)  # the run's outcome
    failed = Signal(object)  # the BaseException that ended it

    def __init__(self, start: Callable[[], AnyRun]) -> None:
        super().__init__()
        self._start = start
        # Cancel may come before start() has returned the run; remember it and apply it then.
        self._lock = threading.Lock()
        self._cancelled = False
        self._run: AnyRun | None = None

    @property
    def run(self) -> AnyRun | None:
        return self._run

    def cancel(self) -> None:
        """Thread-safe: called from the GUI thread while `work()` iterates in the worker."""
        with self._lock:
            self._cancelled = True
            run = self._run
        if run is not None:
            run.cancel()

    @Slot()
    def work(self) -> None:
        try:
            run = self._start()
            with self._lock:
                self._run = run
                cancelled = self._cancelled
            if cancelled:
                run.cancel()
            self.started.emit(run)
            for item in run:
                self.yielded.emit(item)
        except BaseException as exc:  # a run that had started has saved what it had
            if not isinstance(exc, LanternError):
                log.exception("A background run failed", exc_info=exc)
            self.failed.emit(exc)
            return
        self.finished.emit(run.outcome)


class PageRun(QObject):
    """A page's run: one at a time, in a thread of its own that is a child of the page.

    The signals arrive on the GUI thread, in order: `started(run)`, `yielded` events, one of
    `finished(outcome)` or `failed(exception)`, then `ended()` once the thread has ended
    (`running()` is False from then on). After `shutdown()` nothing more is delivered."""

    started = Signal(object)
    yielded = Signal(object)  # each event of the run
    finished = Signal(object)
    failed = Signal(object)
    ended = Signal()

    def __init__(self, page: QObject, name: str) -> None:
        super().__init__(page)
        self._page = page
        self._name = name
        self._worker: RunWorker | None = None
        self._thread: QThread | None = None
        self._closed = False

    def running(self) -> bool:
        return self._thread is not None

    @property
    def run(self) -> AnyRun | None:
        """The service run once it has started (until the next start), for its outcome."""
        return self._worker.run if self._worker is not None else None

    def start(self, start: Callable[[], AnyRun]) -> None:
        """Run `start()` and then the run it returns, in a new thread. One run at a time: the
        page checks `running()` first."""
        if self._thread is not None:
            raise RuntimeError("A run is going already")
        if self._closed:
            return
        worker = RunWorker(start)
        worker.started.connect(self._relay_started)
        worker.yielded.connect(self._relay_event)
        worker.finished.connect(self._relay_finished)
        worker.failed.connect(self._relay_failed)
        # A child of the page, so that tests find it (`page.findChildren(QThread)`) until it ends.
        thread = QThread(self._page)
        thread.setObjectName(self._name)
        worker.moveToThread(thread)
        thread.started.connect(worker.work)
        # Direct: quit() is thread-safe, and a queued call would wait for the GUI thread, which
        # may itself be waiting for this thread (closing the window).
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.failed.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._thread_finished)
        self._worker, self._thread = worker, thread
        thread.start()

    def cancel(self) -> None:
        """Thread-safe; the run ends at its next step, as cancelled (or stopped)."""
        if self._worker is not None:
            self._worker.cancel()

    def shutdown(self) -> None:
        """The page is closing: cancel the run and wait for its thread (the run ends at the
        next token, or once a model load ends). Nothing is delivered afterwards."""
        self._closed = True
        self.cancel()
        if self._thread is not None:
            self._thread.wait()
            self._thread.deleteLater()
        self._thread = None

    # The worker's signals, queued to this object's (the GUI) thread.

    @Slot(object)
    def _relay_started(self, run: object) -> None:
        if not self._closed:
            self.started.emit(run)

    @Slot(object)
    def _relay_event(self, item: object) -> None:
        if not self._closed:
            self.yielded.emit(item)

    @Slot(object)
    def _relay_finished(self, outcome: object) -> None:
        if not self._closed:
            self.finished.emit(outcome)

    @Slot(object)
    def _relay_failed(self, error: object) -> None:
        if not self._closed:
            self.failed.emit(error)

    @Slot()
    def _thread_finished(self) -> None:
        thread = self._thread
        if thread is None:
            return  # shut down already
        thread.wait()  # finished is emitted just before the thread really ends
        thread.deleteLater()
        self._thread = None
        if not self._closed:
            self.ended.emit()
