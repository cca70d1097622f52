"""The server's requests, newest first: time, client, endpoint, model, tokens, speed, status
and duration; a few hundred at most (the oldest go). A table model, so that a burst of
requests is one insertion, never a widget per cell."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHeaderView, QTableView, QWidget

from desktop.services.request_log import RequestLogEntry
from desktop.ui.widgets.columns_model import AnyIndex, ColumnsModel, show_read_only_rows
from desktop.ui.widgets.notice import ERROR_COLOR

MAX_ROWS = 500  # as many as the service's log keeps
COLUMNS = ("Time", "Client", "Endpoint", "Model", "Tokens", "tok/s", "Status", "Duration")
TIME, CLIENT, ENDPOINT, MODEL, TOKENS, SPEED, STATUS, DURATION = range(len(COLUMNS))
NUMBERS = (TOKENS, SPEED, STATUS, DURATION)


def cell_text(entry: RequestLogEntry, column: int) -> str:
    if column == TIME:
        return entry.at.strftime("%H:%M:%S")
    if column == CLIENT:
        return entry.client
    if column == ENDPOINT:
        return f"{entry.method} {entry.endpoint}"
    if column == MODEL:
        return entry.model or ""
    if column == TOKENS:
        if entry.prompt_tokens is None:
            return ""
        return f"{entry.prompt_tokens:,} + {entry.completion_tokens or 0:,}"
    if column == SPEED:
        return f"{entry.tokens_per_s:.1f}" if entry.tokens_per_s else ""
    if column == STATUS:
        return str(entry.status)
    return f"{entry.duration_s:.2f} s"


class RequestRows(ColumnsModel):
    def __init__(self) -> None:
        super().__init__(COLUMNS)
        self._entries: list[RequestLogEntry] = []  # newest first

    def add(self, entries: Sequence[RequestLogEntry]) -> None:
        """New entries, oldest first: they go on top, and the oldest rows go past MAX_ROWS."""
        new = list(reversed(entries[-MAX_ROWS:]))
        if not new:
            return
        self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
        self._entries[:0] = new
        self.endInsertRows()
        if len(self._entries) > MAX_ROWS:
            self.beginRemoveRows(QModelIndex(), MAX_ROWS, len(self._entries) - 1)
            del self._entries[MAX_ROWS:]
            self.endRemoveRows()

    def entry(self, row: int) -> RequestLogEntry:
        return self._entries[row]

    def rows(self) -> int:
        return len(self._entries)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        entry, column = self._entries[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole:  # what a narrow column cuts, and errors
            return entry.error if column == STATUS else cell_text(entry, column) or None
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS and entry.status >= 400:
            return QBrush(QColor(ERROR_COLOR))
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMBERS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class RequestTable(QTableView):
    """Read-only, rows picked whole. Column widths are set, not measured: measuring reads
    every row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows = RequestRows()
        self.setModel(self.rows)
        self.setAccessibleName("Requests")
        show_read_only_rows(self)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        widths = {TIME: 64, CLIENT: 120, ENDPOINT: 180, TOKENS: 80, SPEED: 52, STATUS: 52}
        for column, width in (widths | {DURATION: 64}).items():
            header.resizeSection(column, width)
        header.setSectionResizeMode(MODEL, QHeaderView.ResizeMode.Stretch)

    def cell(self, row: int, column: int) -> str:
        """What a user reads in a cell (for tests)."""
        return cell_text(self.rows.entry(row), column)
