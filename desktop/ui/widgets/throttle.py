"""Coalescing bursts of updates into at most one call per frame (qutebrowser's
misc/throttle.py): how a view takes streamed tokens without redrawing for each.

A view gathers what arrives and asks the throttle for a call; the throttle calls the view's
`flush` once the interval has passed, however many requests came meanwhile:

    self._throttle = Throttle(self.flush, parent=self)
    def append(self, piece):  self._pending.append(piece); self._throttle.request()
    def flush(self):          self._throttle.cancel(); ...show what is pending...
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

FRAME_MS = 16  # ~60 updates a second, however fast the tokens come


class Throttle(QObject):
    def __init__(
        self, call: Callable[[], object], interval_ms: int = FRAME_MS, *, parent: QObject
    ) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(call)

    def request(self) -> None:
        """Call soon: at the end of the interval that this request starts, or that is running."""
        if not self._timer.isActive():
            self._timer.start()

    def restart(self) -> None:
        """Call once the requests pause for a whole interval (a debounce: typing)."""
        self._timer.start()

    def cancel(self) -> None:
        """No call for the requests so far (the caller has just done the work itself)."""
        self._timer.stop()

    def pending(self) -> bool:
        return self._timer.isActive()
