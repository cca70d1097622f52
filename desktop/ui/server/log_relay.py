"""The request log's entries, heard on the server's threads and handed to the GUI thread: the
listener only queues the entry (it must return at once), and a burst of entries wakes the GUI
thread once, with all of them."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from desktop.services.request_log import RequestLog, RequestLogEntry


class LogRelay(QObject):
    arrived = Signal()  # entries are waiting: take() them (queued to the GUI thread)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: list[RequestLogEntry] = []
        self._unsubscribe: Callable[[], None] | None = None

    def listen(self, log: RequestLog) -> None:
        self._unsubscribe = log.subscribe(self._heard)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def take(self) -> list[RequestLogEntry]:
        """The entries heard since the last take, oldest first."""
        with self._lock:
            entries, self._pending = self._pending, []
        return entries

    def _heard(self, entry: RequestLogEntry) -> None:
        """On a server thread."""
        with self._lock:
            self._pending.append(entry)
            first = len(self._pending) == 1
        if first:  # the GUI thread has not been woken for this burst yet
            self.arrived.emit()
