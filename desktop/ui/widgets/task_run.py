"""A long writing task (a summary, a translation) run in its own thread, reporting by signals.

`start` is any call that returns a run: an object that is iterated for its events and has
`cancel()` and, once the iteration ends, `outcome` (SummaryRun, TranslationRun). The start
itself (a database write, a file read) happens in the thread too.

Signals: `started(run)` once the run exists, `yielded(object)` for each event (as many as the
engine makes tokens: a view coalesces them), then exactly one of `finished(outcome)` (a
cancelled run too) or `failed(message)`; a run that fails after it started has saved what it
had, and `run.outcome` says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

from desktop.errors import LanternError
from desktop.ui.bridge import user_message, worker_thread

log = logging.getLogger(__name__)


class TaskRun(QObject):
    started = Signal(object)
    yielded = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, start: Callable[[], Any]) -> None:
        super().__init__()
        self._start = start
        # Cancel may come before start() has returned the run; remember it and apply it then.
        self._lock = threading.Lock()
        self._cancelled = False
        self.run_object: Any = None

    def cancel(self) -> None:
        """Thread-safe: called from the GUI thread while `run()` iterates in the worker."""
        with self._lock:
            self._cancelled = True
            run = self.run_object
        if run is not None:
            run.cancel()

    @Slot()
    def run(self) -> None:
        try:
            run = self._start()
            with self._lock:
                self.run_object = run
                cancelled = self._cancelled
            if cancelled:
                run.cancel()
            self.started.emit(run)
            for item in run:
                self.yielded.emit(item)
        except BaseException as exc:
            if not isinstance(exc, LanternError):
                log.exception("Writing task failed", exc_info=exc)
            self.failed.emit(user_message(exc))
            return
        self.finished.emit(run.outcome)


def task_thread(task: TaskRun, owner: QObject) -> QThread:
    return worker_thread(task, owner, "lantern-writing-task")


def run_shortcuts(page: QWidget, run: Callable[[], Any], stop: Callable[[], Any]) -> QShortcut:
    """Ctrl+Enter runs the page's task and Esc stops it, while the focus is in the page.
    Returns the Esc shortcut: a page enables it only while a run goes, since Esc otherwise
    belongs to its cell editors and dialogs."""
    context = Qt.ShortcutContext.WidgetWithChildrenShortcut
    for keys in ("Ctrl+Return", "Ctrl+Enter"):
        shortcut = QShortcut(QKeySequence(keys), page)
        shortcut.setContext(context)
        shortcut.activated.connect(run)
    escape = QShortcut(QKeySequence("Escape"), page)
    escape.setContext(context)
    escape.activated.connect(stop)
    return escape
