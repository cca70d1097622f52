"""The libraries' folders watched while the window is open: `changed` arrives on the GUI
thread after files changed there (DocumentService.watch's watcher, which calls from a thread
of its own after a quiet moment). A watcher is made again whenever the sources change
(`renew`); making and closing one touches every folder, so both run on the window's pool."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.services.library_watcher import LibraryWatcher
    from desktop.ui.bridge import BackgroundTasks


class FolderWatch(QObject):
    changed = Signal()  # on the GUI thread: files changed in a watched folder
    failed = Signal(object)  # the exception, when the folders could not be watched
    _reported = Signal()  # emitted on the watcher's thread

    def __init__(self, lantern: Lantern, tasks: BackgroundTasks, parent: QObject) -> None:
        super().__init__(parent)
        self._lantern = lantern
        self._tasks = tasks
        self._lock = threading.Lock()  # the watcher and `_closed`, between the pool and close
        self._renewing = threading.Lock()  # one renewal at a time, in order
        self._watcher: LibraryWatcher | None = None
        self._closed = False
        self._reported.connect(self.changed, Qt.ConnectionType.QueuedConnection)

    def renew(self) -> None:
        """Watch the folder sources as they are now (after one was added or removed)."""
        self._tasks.run(self._renewed, lambda _none: None, self.failed.emit)

    def close(self) -> None:
        """No `changed` after this returns, and the watcher's threads have ended."""
        with self._lock:
            self._closed = True
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.close()

    def _renewed(self) -> None:  # on the pool
        with self._renewing:
            with self._lock:
                if self._closed:
                    return
                old, self._watcher = self._watcher, None
            if old is not None:
                old.close()
            watcher = self._lantern.documents.watch(self._reported.emit)
            with self._lock:
                if not self._closed:
                    self._watcher = watcher
                    return
            watcher.close()  # the window closed meanwhile
