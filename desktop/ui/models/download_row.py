"""One download in the Downloads view: progress, speed, time left, and the buttons its status
allows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.models.formatting import size_text, speed_text, time_left_text
from desktop.ui.widgets.notice import Notice

if TYPE_CHECKING:
    from desktop.services.downloads import DownloadProgress
    from desktop.store.downloads import DownloadRecord

STATUS_TEXT = {
    "queued": "Waiting",
    "downloading": "Downloading",
    "paused": "Paused",
    "failed": "Failed",
    "done": "Installed",
    "cancelled": "Cancelled",
}
# Which buttons each status offers.
ACTIONS = {
    "queued": ("pause", "cancel"),
    "downloading": ("pause", "cancel"),
    "paused": ("resume", "cancel"),
    "failed": ("resume", "forget"),
    "done": ("use", "forget"),
    "cancelled": ("forget",),
}
PROGRESS_STEPS = 1000  # QProgressBar holds an int: bytes would overflow it past 2 GB


class DownloadRow(QFrame):
    action = Signal(str, int)  # "pause" | "resume" | "cancel" | "forget" | "use", download id

    def __init__(self, record: DownloadRecord, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.record = record
        self.done_bytes = record.done_bytes
        self._speed: float | None = None
        self._seconds_left: float | None = None

        self.name = QLabel()
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        font = self.name.font()
        font.setBold(True)
        self.name.setFont(font)
        self.source = QLabel()
        self.source.setTextFormat(Qt.TextFormat.PlainText)
        self.source.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.detail = QLabel()
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.error = Notice()

        self.buttons: dict[str, QPushButton] = {}
        labels = {
            "use": ("Use for chat", "Chat with this model"),
            "pause": ("Pause", "Stop for now; Resume continues where it stopped"),
            "resume": ("Resume", "Continue the download where it stopped"),
            "cancel": ("Cancel", "Stop the download and delete what it fetched"),
            "forget": ("Remove from list", "Take this entry off the list"),
        }
        button_row = QHBoxLayout()
        button_row.setSpacing(4)
        for key, (text, tip) in labels.items():
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _checked=False, key=key: self._clicked(key))
            self.buttons[key] = button
            button_row.addWidget(button)

        head = QHBoxLayout()
        head.addWidget(self.name)
        head.addWidget(self.source, 1)
        head.addWidget(self.status_label)
        foot = QHBoxLayout()
        foot.addWidget(self.detail, 1)
        foot.addLayout(button_row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.progress)
        layout.addLayout(foot)
        layout.addWidget(self.error)
        self.set_record(record)

    @property
    def status(self) -> str:
        return self.record.status

    def set_record(self, record: DownloadRecord) -> None:
        """A change of status (or a first sight of the download)."""
        self.record = record
        if record.status in ("done", "cancelled") or record.done_bytes > self.done_bytes:
            self.done_bytes = record.total_bytes if record.status == "done" else record.done_bytes
        if record.status != "downloading":
            self._speed = self._seconds_left = None
        self._show()

    def set_progress(self, progress: DownloadProgress) -> None:
        """Bytes moved; the status is the one the last `set_record` brought."""
        if self.record.status in ("done", "cancelled"):
            return  # a late report from the transfer that just ended
        self.done_bytes = progress.done_bytes
        if self.record.status == "downloading":
            self._speed, self._seconds_left = progress.bytes_per_second, progress.seconds_left
        self._show()

    def _show(self) -> None:
        record = self.record
        self.name.setText(record.name)
        self.source.setText(f"{record.quant} · {record.repo}")
        self.status_label.setText(STATUS_TEXT.get(record.status, record.status))
        total = max(record.total_bytes, 1)
        self.progress.setValue(min(PROGRESS_STEPS, self.done_bytes * PROGRESS_STEPS // total))
        self.progress.setVisible(record.status != "cancelled")
        self.detail.setText(self._detail_text())
        if record.status == "failed" and record.error:
            self.error.show_error(record.error)
        else:
            self.error.clear_message()
        allowed = ACTIONS.get(record.status, ())
        for key, button in self.buttons.items():
            button.setVisible(key in allowed)
            button.setEnabled(key != "use" or bool(record.model_id))

    def _detail_text(self) -> str:
        record = self.record
        if record.status == "done":
            return f"{size_text(record.total_bytes)} · installed as {record.model_id}"
        if record.status == "cancelled":
            return f"{size_text(record.total_bytes)} · cancelled; nothing kept"
        parts = [f"{size_text(self.done_bytes)} of {size_text(record.total_bytes)}"]
        if self._speed is not None and record.status == "downloading":
            parts.append(speed_text(self._speed))
            if left := time_left_text(self._seconds_left):
                parts.append(left)
        if len(record.parts) > 1:
            parts.append(f"{len(record.parts)} parts")
        return " · ".join(parts)

    def _clicked(self, key: str) -> None:
        if key in ("pause", "resume", "cancel", "forget"):
            # One click at a time: the buttons come back with the next status.
            for button in self.buttons.values():
                button.setEnabled(False)
        self.action.emit(key, self.record.id)

    def show_action_error(self, error: BaseException) -> None:
        self.error.show_error(error)
        self._show_buttons_enabled()

    def _show_buttons_enabled(self) -> None:
        for key, button in self.buttons.items():
            button.setEnabled(key != "use" or bool(self.record.model_id))
