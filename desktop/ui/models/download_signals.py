"""The download queue's news as a Qt signal, so that views hear of it on the GUI thread."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from desktop.services.downloads import DownloadProgress
    from desktop.store.downloads import DownloadRecord

log = logging.getLogger(__name__)


class DownloadSignals(QObject):
    """`listener` is what the queue calls, on its worker thread (or on whichever thread queued
    a download); it only emits `changed`, and receivers connect with a queued connection, so
    their slots run on the GUI thread. No widget is touched from the worker.

    Keep it without a Qt parent: the queue holds `listener`, and with it this object, for as
    long as the queue lives, which may be longer than the window. `detach()` silences it.
    """

    changed = Signal(object, object)  # DownloadRecord, DownloadProgress | None

    def __init__(self) -> None:
        super().__init__()
        self._detached = False

    def listener(self, record: DownloadRecord, progress: DownloadProgress | None) -> None:
        if self._detached:
            return
        try:
            self.changed.emit(record, progress)
        except RuntimeError:  # the Qt side is gone (the app is exiting): nobody to tell
            log.debug("Download news for %s dropped", record.name)

    def detach(self) -> None:
        self._detached = True
