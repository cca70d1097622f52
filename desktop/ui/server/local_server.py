"""The API server as the window runs it: started and stopped on a thread of its own (starting
returns once the socket listens, stopping waits for the requests being served), one step at
a time and in the order asked, each change of state told by a signal on the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QObject, QThreadPool, Signal

from desktop.errors import NoModelInstalled
from desktop.server.runner import ServerHandle
from desktop.ui.bridge import BackgroundTasks

if TYPE_CHECKING:
    from desktop.server.options import ServerOptions
    from desktop.services.app import Lantern

Phase = Literal["stopped", "starting", "serving", "stopping"]


@dataclass(frozen=True)
class ServerState:
    phase: Phase
    url: str | None = None  # where a client on this computer reaches it (ends in /v1)
    port: int | None = None  # the port it listens on, while serving
    on_network: bool = False  # other computers can reach it
    error: BaseException | None = None  # why it stopped or could not start


class LocalServer(QObject):
    changed = Signal(object)  # the ServerState

    def __init__(self, lantern: Lantern, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lantern = lantern
        # One thread: a stop asked during a start runs once the start is done.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._tasks = BackgroundTasks(self._pool)
        # Set on the pool's thread, where shutdown() finds it even if the window closes
        # before the news of the start has reached the GUI thread.
        self._handle: ServerHandle | None = None
        self.state = ServerState("stopped")

    def start(self, options: ServerOptions) -> None:
        if self.state.phase != "stopped":
            return
        self._show(ServerState("starting"))
        self._tasks.run(lambda: self._start(options), self._started, self._start_failed)

    def stop(self) -> None:
        if self.state.phase not in ("starting", "serving"):
            return
        self._show(ServerState("stopping"))
        self._tasks.run(self._stop, lambda _: self._show(ServerState("stopped")), self._stopped)

    def shutdown(self) -> None:
        """The window is closing: wait for a start or stop under way, then stop the server
        here (the requests being served are cancelled), so that no thread outlives it."""
        self._tasks.close()
        self._pool.waitForDone()
        self._stop()

    # ---- on the pool's thread ----

    def _start(self, options: ServerOptions) -> ServerHandle:
        service = self._lantern.serving
        if not service.models():  # as `lantern serve` does
            raise NoModelInstalled("No model is installed yet: the API would have none to offer.")
        self._handle = ServerHandle(service, options).start()
        return self._handle

    def _stop(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.stop()

    # ---- on the GUI thread ----

    def _started(self, handle: ServerHandle) -> None:
        if self.state.phase == "starting":  # else a stop is queued behind the start
            self._show(ServerState("serving", handle.url, handle.port, handle.options.on_network))

    def _start_failed(self, error: BaseException) -> None:
        if self.state.phase == "starting":
            self._show(ServerState("stopped", error=error))

    def _stopped(self, error: BaseException) -> None:
        self._show(ServerState("stopped", error=error))

    def _show(self, state: ServerState) -> None:
        self.state = state
        self.changed.emit(state)
