"""Start / Stop, and the server's state in words beside it: where it serves, or why it could
not start."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from desktop.ui.server.local_server import ServerState
from desktop.ui.widgets.notice import Notice


def state_words(state: ServerState) -> str:
    if state.phase == "serving":
        assert state.url is not None
        address = state.url.removesuffix("/v1")
        if state.on_network:
            return (
                f"Serving on {address}, and to other computers on your network at this "
                f"computer's address, port {state.port}"
            )
        return f"Serving on {address}"
    return {"starting": "Starting…", "stopping": "Stopping…"}.get(state.phase, "Stopped")


class ServerSwitch(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QPushButton("Start")
        self.button.setAccessibleName("Start the server")
        self.button.setEnabled(False)  # the page enables it once it has read the settings
        self.state_line = Notice()
        self.state_line.setAccessibleName("Server state")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.state_line, 1)
        self.state_line.show_info("Reading the server's settings…")

    def show_state(self, state: ServerState) -> None:
        running = state.phase in ("starting", "serving")
        self.button.setText("Stop" if running else "Start")
        self.button.setAccessibleName("Stop the server" if running else "Start the server")
        if state.error is not None:
            self.state_line.show_error(state.error)
        else:
            self.state_line.show_info(state_words(state))
