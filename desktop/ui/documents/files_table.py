"""The files of a library: one row per file, with its status, its passages and, for a file
that could not be indexed, why. A table model over the page's list of FileRecords, so that a
library of thousands of files costs no widget per cell, and a progress tick repaints only the
rows whose file changed (`update_files`), never the whole table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHeaderView, QTableView, QWidget

from desktop.store.documents import FileRecord
from desktop.ui.widgets.columns_model import AnyIndex, ColumnsModel, show_read_only_rows
from desktop.ui.widgets.notice import ERROR_COLOR

FILE, STATUS, PASSAGES, ERROR = range(4)
COLUMNS = ("File", "Status", "Passages", "Error")
STATUS_WORDS = {
    "queued": "Queued",
    "indexing": "Indexing…",
    "indexed": "Indexed",
    "failed": "Failed",
}


def shown_path(record: FileRecord, folders: dict[int, str]) -> str:
    """The file as the user knows it: its path under the folder added, else its name."""
    folder = folders.get(record.source_id)
    if folder is not None:
        try:
            return Path(record.path).relative_to(folder).as_posix()
        except ValueError:
            pass
    return Path(record.path).name


class LibraryFiles(ColumnsModel):
    def __init__(self) -> None:
        super().__init__(COLUMNS)
        self._files: list[FileRecord] = []
        self._rows: dict[int, int] = {}  # file id -> row
        self._paths: dict[str, int] = {}  # file path -> row
        self._folders: dict[int, str] = {}  # source id -> folder path, for shown paths

    # ---- what the page sets ----

    def set_files(self, files: Sequence[FileRecord], folders: dict[int, str]) -> None:
        """Show another library, or the same one after files came or went."""
        self.beginResetModel()
        self._files = list(files)
        self._rows = {record.id: row for row, record in enumerate(self._files)}
        self._paths = {record.path: row for row, record in enumerate(self._files)}
        self._folders = dict(folders)
        self.endResetModel()

    def update_files(self, files: Sequence[FileRecord], folders: dict[int, str]) -> None:
        """The library read again: the rows whose file changed are repainted; a file added or
        removed (a rescan) resets the table."""
        if len(files) != len(self._files) or any(f.id not in self._rows for f in files):
            self.set_files(files, folders)
            return
        for record in files:
            self._replace(self._rows[record.id], record)

    def mark(self, path: str, status: str, passages: int | None = None) -> None:
        """What an index run says of one file, before the library is read again."""
        row = self._paths.get(path)
        if row is not None:
            record = self._files[row]
            new = replace(
                record, status=status, passages=record.passages if passages is None else passages
            )
            self._replace(row, new)

    def _replace(self, row: int, record: FileRecord) -> None:
        if self._files[row] != record:
            self._files[row] = record
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def files(self) -> list[FileRecord]:
        return list(self._files)

    def indexed(self) -> tuple[int, int]:
        """The files indexed, and their passages, as the table shows them now."""
        done = [record for record in self._files if record.status == "indexed"]
        return len(done), sum(record.passages for record in done)

    def record(self, row: int) -> FileRecord:
        return self._files[row]

    # ---- the table model ----

    def rows(self) -> int:
        return len(self._files)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        record = self._files[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(record, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return record.error if column == ERROR and record.error else record.path
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and record.status == "failed"
            and column
            in (
                STATUS,
                ERROR,
            )
        ):
            return QBrush(QColor(ERROR_COLOR))
        if role == Qt.ItemDataRole.TextAlignmentRole and column == PASSAGES:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, record: FileRecord, column: int) -> str:
        if column == FILE:
            return shown_path(record, self._folders)
        if column == STATUS:
            return STATUS_WORDS.get(record.status, record.status)
        if column == PASSAGES:
            return f"{record.passages:,}" if record.status == "indexed" else ""
        return record.error or ""


class FilesTable(QTableView):
    """The view of a LibraryFiles: read-only, rows picked whole, sorted as the library lists
    them. Column widths are set, not measured: measuring reads every row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.files = LibraryFiles()
        self.setModel(self.files)
        self.setAccessibleName("Files of the library")
        show_read_only_rows(self)
        header = self.horizontalHeader()
        header.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(STATUS, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(PASSAGES, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(ERROR, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(STATUS, 96)
        header.resizeSection(PASSAGES, 80)

    def cell(self, name: str, column: int) -> str:
        """What the row of the file `name` (its path as shown) says in `column` (STATUS,
        ERROR...): what a user reads there, for tests."""
        for row in range(self.files.rowCount()):
            if self.files.data(self.files.index(row, FILE)) == name:
                return str(self.files.data(self.files.index(row, column)))
        raise KeyError(name)
