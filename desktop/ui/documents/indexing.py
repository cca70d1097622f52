"""Indexing the libraries' queue from the window: one IndexRun at a time in a PageRun
(ui/runs.py), its progress coalesced to a few updates a second, Pause/Resume and Cancel.

The queue is in the database, so the window only has to start a run when there is work:
at start when files are queued (a run that a crash or a close cut short is taken up again),
after files are added, and after the watched folders changed (then a scan first). A run
asked for while one is going starts once it ends: the going run may have counted its files
before the new ones came.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, Signal

from desktop.services.indexing import IndexOutcome, IndexProgress, IndexRun
from desktop.ui.runs import PageRun
from desktop.ui.widgets.throttle import Throttle

if TYPE_CHECKING:
    from desktop.services.app import Lantern

PROGRESS_MS = 100  # the progress line and the files' statuses, at most 10 times a second


class LibraryIndexing(QObject):
    progress = Signal(object)  # the latest IndexProgress, coalesced
    finished = Signal(object)  # the IndexOutcome (a cancelled run too)
    failed = Signal(object)  # the exception that ended the run (EmbedderMissing...)
    ended = Signal()  # the run's thread has ended

    def __init__(self, lantern: Lantern, parent: QObject) -> None:
        super().__init__(parent)
        self._lantern = lantern
        self._run = PageRun(self, "lantern-indexing")
        self._run.yielded.connect(self._on_progress)
        self._run.finished.connect(self._on_finished)
        self._run.failed.connect(self.failed)
        self._run.ended.connect(self._on_ended)
        self._latest: IndexProgress | None = None
        self._throttle = Throttle(self._flush, PROGRESS_MS, parent=self)
        self._again = False  # more was queued while a run went

    def running(self) -> bool:
        return self._run.running()

    def paused(self) -> bool:
        """Pause was asked (the run pauses once the file it reads is done)."""
        run = self._index_run()
        return run is not None and run.paused

    def index_queued(self) -> None:
        """Index what is queued now: at once, or once the run going has ended."""
        if self._run.running():
            self._again = True
            return
        self._again = False
        lantern = self._lantern  # its parts are built on first use: in the run's thread
        self._run.start(lambda: lantern.documents.index())

    def pause(self) -> None:
        run = self._index_run()
        if run is not None:
            run.pause()
            self._repeat_latest()

    def resume(self) -> None:
        run = self._index_run()
        if run is not None:
            run.resume()
            self._repeat_latest()

    def cancel(self) -> None:
        self._again = False
        self._run.cancel()

    def shutdown(self) -> None:
        self._again = False
        self._throttle.cancel()
        self._run.shutdown()

    def latest(self) -> IndexProgress | None:
        return self._latest

    def _index_run(self) -> IndexRun | None:
        return cast("IndexRun | None", self._run.run)

    def _on_progress(self, progress: IndexProgress) -> None:
        self._latest = progress
        self._throttle.request()

    def _flush(self) -> None:
        if self._latest is not None:
            self.progress.emit(self._latest)

    def _repeat_latest(self) -> None:
        if self._latest is not None:
            self._throttle.cancel()
            self._flush()

    def _on_finished(self, outcome: IndexOutcome) -> None:
        self._throttle.cancel()
        self._flush()  # the last figures, at once
        self.finished.emit(outcome)

    def _on_ended(self) -> None:
        self.ended.emit()
        if self._again:
            self.index_queued()
