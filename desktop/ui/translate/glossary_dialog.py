"""The glossary editor: a table of terms and the translation each must have, rows added and
removed by hand, and CSV files imported or exported (read and written off the GUI thread)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import LanternError
from desktop.services.files import write_file_atomically
from desktop.tasks.glossary import Glossary, glossary_from_pairs, glossary_to_csv, read_glossary_csv
from desktop.ui.widgets.notice import Notice

if TYPE_CHECKING:
    from desktop.ui.bridge import BackgroundTasks

CSV_FILTER = "Glossary (*.csv *.tsv *.txt);;All files (*)"


def read_glossary_file(path: Path) -> Glossary:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LanternError(f"{path.name} is not a UTF-8 text file.") from exc
    except OSError as exc:
        raise LanternError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc
    return read_glossary_csv(text)


def write_glossary_file(path: Path, glossary: Glossary) -> Path:
    write_file_atomically(path, glossary_to_csv(glossary).encode("utf-8"))
    return path


class GlossaryDialog(QDialog):
    def __init__(
        self, glossary: Glossary, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Glossary")
        self._tasks = tasks
        explanation = QLabel(
            "Terms the translation must render a given way: each row is a term as it appears "
            "in the source, and the translation it must have."
        )
        explanation.setWordWrap(True)
        self.table = QTableWidget(0, 2)
        self.table.setAccessibleName("Glossary terms")
        self.table.setHorizontalHeaderLabels(["Term", "Required translation"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.add_button = QPushButton("&Add term")
        self.add_button.setAccessibleName("Add term")
        self.add_button.clicked.connect(lambda _checked=False: self.add_row())
        self.remove_button = QPushButton("&Remove")
        self.remove_button.setAccessibleName("Remove the selected term")
        self.remove_button.clicked.connect(lambda _checked=False: self.remove_selected())
        self.import_button = QPushButton("&Import CSV…")
        self.import_button.setAccessibleName("Import CSV")
        self.import_button.clicked.connect(lambda _checked=False: self._choose_import())
        self.export_button = QPushButton("&Export CSV…")
        self.export_button.setAccessibleName("Export CSV")
        self.export_button.clicked.connect(lambda _checked=False: self._choose_export())
        self.notice = Notice()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        for button in buttons.buttons():
            button.setAccessibleName(button.text().replace("&", ""))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        row = QHBoxLayout()
        for button in (self.add_button, self.remove_button):
            row.addWidget(button)
        row.addStretch(1)
        for button in (self.import_button, self.export_button):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.notice)
        layout.addWidget(buttons)
        self.resize(560, 420)
        self.set_glossary(glossary)

    def glossary(self) -> Glossary:
        """The rows as a glossary: rows with an empty cell are left out."""
        pairs = []
        for row in range(self.table.rowCount()):
            term, translation = (self.table.item(row, column) for column in (0, 1))
            pairs.append((term.text() if term else "", translation.text() if translation else ""))
        return glossary_from_pairs(pairs)

    def set_glossary(self, glossary: Glossary) -> None:
        self.table.setRowCount(0)
        for term in glossary.terms:
            self.add_row(term.term, term.translation)

    def add_row(self, term: str = "", translation: str = "") -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        term_cell = QTableWidgetItem(term)
        self.table.setItem(row, 0, term_cell)
        self.table.setItem(row, 1, QTableWidgetItem(translation))
        if not term:
            self.table.setCurrentCell(row, 0)
            self.table.editItem(term_cell)
        return row

    def remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.table.currentRow() >= 0:
            rows = [self.table.currentRow()]
        for row in rows:
            self.table.removeRow(row)

    # ---- CSV files ----

    def import_file(self, path: Path) -> None:
        self.notice.show_info(f"Reading {path.name}…")
        self._tasks.run(lambda: read_glossary_file(path), self._imported, self.notice.show_error)

    def export_file(self, path: Path) -> None:
        glossary = self.glossary()
        self._tasks.run(
            lambda: write_glossary_file(path, glossary),
            lambda written: self.notice.show_info(
                f"Saved {len(glossary.terms)} terms to {written.name}."
            ),
            self.notice.show_error,
        )

    def _imported(self, glossary: Glossary) -> None:
        self.set_glossary(glossary)
        count = len(glossary.terms)
        self.notice.show_info(f"Imported {count} term{'s' if count != 1 else ''}.")

    def _choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a glossary", "", CSV_FILTER)
        if path:
            self.import_file(Path(path))

    def _choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the glossary", "glossary.csv", CSV_FILTER
        )
        if path:
            self.export_file(Path(path))
