"""The download queue, one row per download, newest first. News from the queue's worker is
coalesced: each row is redrawn at most every FLUSH_INTERVAL_MS, however often bytes move."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop.ui.models.download_row import DownloadRow
from desktop.ui.page import LanternWidget
from desktop.ui.widgets.throttle import Throttle

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.services.downloads import DownloadProgress
    from desktop.store.downloads import DownloadRecord
    from desktop.ui.bridge import BackgroundTasks

FLUSH_INTERVAL_MS = 100  # at most ~10 redraws per second per row
EMPTY = "No downloads yet. Pick a model in the Catalog or find one with Search."


class _News:
    """What arrived for one download since the last redraw: its latest status, its latest
    progress, and any record (progress reports carry one too, but its status may be stale)."""

    __slots__ = ("any_record", "progress", "status_record")

    def __init__(self) -> None:
        self.status_record: DownloadRecord | None = None
        self.any_record: DownloadRecord | None = None
        self.progress: DownloadProgress | None = None


class DownloadsView(LanternWidget):
    model_installed = Signal(str)  # a download finished and installed this model
    use_requested = Signal(str)  # model id

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self.rows: dict[int, DownloadRow] = {}
        self._news: dict[int, _News] = {}
        self._throttle = Throttle(self.flush, FLUSH_INTERVAL_MS, parent=self)

        self.empty = QLabel(EMPTY)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        content = QWidget()
        self._column = QVBoxLayout(content)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(6)
        self._column.addWidget(self.empty)
        self._column.addStretch(1)
        scroll = QScrollArea()
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    # ---- what the queue says ----

    def show_list(self, records: list[DownloadRecord]) -> None:
        """The queue as the store has it (newest first). Rows the news has already made
        are newer than this read and stay as they are."""
        for record in reversed(records):
            if record.id not in self.rows:
                self._add_row(record)

    def on_news(self, record: DownloadRecord, progress: DownloadProgress | None) -> None:
        """A change from the queue (connected queued: runs on the GUI thread)."""
        news = self._news.setdefault(record.id, _News())
        news.any_record = record
        if progress is None:
            news.status_record = record
        else:
            news.progress = progress
        self._throttle.request()

    def flush(self) -> None:
        self._throttle.cancel()
        news, self._news = self._news, {}
        for download_id, item in news.items():
            row = self.rows.get(download_id)
            if row is None:
                assert item.any_record is not None
                row = self._add_row(item.status_record or item.any_record)
            was = row.status
            record = item.status_record
            if record is not None and record.updated_at >= row.record.updated_at:
                row.set_record(record)
            if item.progress is not None:
                row.set_progress(item.progress)
            if row.status == "done" and was != "done" and row.record.model_id:
                self.model_installed.emit(row.record.model_id)

    # ---- rows ----

    def _add_row(self, record: DownloadRecord) -> DownloadRow:
        row = DownloadRow(record)
        row.action.connect(self._act)
        self.rows[record.id] = row
        self._column.insertWidget(1, row)  # newest first, under the (hidden) empty label
        self.empty.hide()
        return row

    def _remove_row(self, download_id: int) -> None:
        row = self.rows.pop(download_id, None)
        if row is not None:
            row.hide()
            row.deleteLater()
        self.empty.setVisible(not self.rows)

    def _act(self, action: str, download_id: int) -> None:
        row = self.rows.get(download_id)
        if row is None:
            return
        if action == "use":
            if row.record.model_id:
                self.use_requested.emit(row.record.model_id)
            return
        queue_call = {
            "pause": lambda queue: queue.pause(download_id),
            "resume": lambda queue: queue.resume(download_id),
            "cancel": lambda queue: queue.cancel(download_id),
            "forget": lambda queue: queue.forget(download_id),
        }[action]
        lantern = self._lantern
        # The new status arrives as news from the queue; only a refusal needs showing here.
        on_done = (lambda _r: self._remove_row(download_id)) if action == "forget" else _ignore
        self._tasks.run(lambda: queue_call(lantern.downloads), on_done, row.show_action_error)


def _ignore(_result: object) -> None:
    pass
