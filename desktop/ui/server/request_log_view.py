"""The live request log: each request the server has answered since the page started, as it
ends (heard through the service's request log, coalesced to one table update per frame), and
the one selected in full below: what went wrong, and its text when the log keeps contents.
Keeping contents is the user's choice, off by default."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Signal
from PySide6.QtWidgets import QCheckBox, QGroupBox, QPlainTextEdit, QVBoxLayout, QWidget

from desktop.services.request_log import RequestLog, RequestLogEntry
from desktop.ui.server.log_relay import LogRelay
from desktop.ui.server.request_table import RequestTable
from desktop.ui.widgets.panes import panes
from desktop.ui.widgets.throttle import Throttle

NOT_KEPT = (
    "The text of requests and answers is not kept. Tick “Log request contents” to keep it "
    "for the requests from then on."
)


def entry_details(entry: RequestLogEntry) -> str:
    lines = [f"{entry.status} · {entry.method} {entry.endpoint} · from {entry.client}"]
    if entry.finish_reason == "cancelled":
        lines.append("Stopped: the client left before the answer was over.")
    if entry.error:
        lines.append(f"Error: {entry.error}")
    if entry.request_text is None:
        lines += ["", NOT_KEPT]
    else:
        lines += ["", "Request:", entry.request_text]
        lines += ["", "Answer:", entry.response_text or "(none)"]
    return "\n".join(lines)


class RequestLogView(QGroupBox):
    keep_contents_changed = Signal(bool)  # the user ticked or unticked "Log request contents"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Requests", parent)
        self.keep_contents = QCheckBox("Log request contents")
        self.keep_contents.setAccessibleName("Log request contents")
        self.keep_contents.setToolTip(
            "Keep the text of each request and answer here (in memory, never in a file); off, "
            "only who asked, for what and how it went"
        )
        self.table = RequestTable()
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Request details")
        self.details.setPlaceholderText("Select a request to see it here.")
        self._relay = LogRelay(self)
        self._show_later = Throttle(self._show_arrived, parent=self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.keep_contents)
        layout.addWidget(panes([self.table, self.details], stretch=[3, 1], vertical=True), 1)
        self.keep_contents.toggled.connect(self.keep_contents_changed)
        self._relay.arrived.connect(self._show_later.request)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

    def listen(self, log: RequestLog) -> None:
        self._relay.listen(log)

    def close_log(self) -> None:
        self._relay.close()
        self._show_later.cancel()

    def _show_arrived(self) -> None:
        self.table.rows.add(self._relay.take())

    def _selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = selected.indexes()
        if rows:
            self.details.setPlainText(entry_details(self.table.rows.entry(rows[0].row())))
        else:
            self.details.clear()
