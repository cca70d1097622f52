"""Watching the libraries' folders: a file saved, added, moved or deleted there is noticed
while Lantern runs (watchdog: inotify, FSEvents, ReadDirectoryChangesW). What changed is
not trusted from the event: the watcher only says *that* something changed, after a quiet
moment (an editor saving writes a file several times; a copied folder is thousands of
events), and the service's scan compares the disk with the database. What changed while
Lantern was closed is found by the scan at start."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)

# How long the folders must be quiet before a change is reported.
QUIET_S = 1.0


class LibraryWatcher(FileSystemEventHandler):
    """Calls `on_change()` (on a thread of its own) once the watched folders have been quiet
    for QUIET_S after a change. `close()` stops it; no call comes after it returns."""

    def __init__(self, folders: Sequence[str], on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._changed = threading.Event()
        self._closed = threading.Event()
        self._observer = Observer()
        for folder in folders:
            try:
                self._observer.schedule(self, folder, recursive=True)
            except OSError as exc:  # gone, or out of watches: the scan at start still sees it
                log.warning("Cannot watch %s: %s", folder, exc)
        self._observer.start()
        self._reporter = threading.Thread(target=self._report, name="library-watcher", daemon=True)
        self._reporter.start()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("opened", "closed_no_write"):  # reads change nothing
            self._changed.set()

    def _report(self) -> None:
        while not self._closed.is_set():
            self._changed.wait()
            # Wait out the burst: every further event restarts the quiet moment.
            while self._changed.is_set() and not self._closed.is_set():
                self._changed.clear()
                self._closed.wait(QUIET_S)
            if not self._closed.is_set():
                try:
                    self._on_change()
                except Exception:  # a failed scan must not end the watching
                    log.exception("Rescanning the libraries failed")

    def close(self) -> None:
        self._closed.set()
        self._changed.set()
        self._observer.stop()
        self._observer.join()
        self._reporter.join()
