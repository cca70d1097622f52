"""Search the Hugging Face Hub for GGUF models; a result's files, fit verdict and download."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.models.formatting import UNKNOWN, count_text, parameters_text, tokens_text
from desktop.ui.models.repository_files import RepositoryFilesView
from desktop.ui.page import LanternWidget
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.panes import panes
from desktop.ui.widgets.row_table import row_table

if TYPE_CHECKING:
    from desktop.models.hub import HubModel
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks

ORDERS = (("Most downloaded", "downloads"), ("Most liked", "likes"), ("Recently updated", "recent"))
COLUMNS = ("Repository", "Downloads", "Likes", "Architecture", "Context", "Parameters", "Access")
NUMERIC = {1, 2, 4, 5}


class SearchView(LanternWidget):
    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self.results: list[HubModel] = []
        self._serial = 0
        self._searched = False

        self.query = QLineEdit()
        self.query.setAccessibleName("Search the Hub")
        self.query.setPlaceholderText("Search GGUF models on the Hugging Face Hub, e.g. qwen 7b")
        self.query.setClearButtonEnabled(True)
        self.query.returnPressed.connect(self.search)
        self.order = QComboBox()
        self.order.setAccessibleName("Sort by")
        for label, order in ORDERS:
            self.order.addItem(label, order)
        self.order.currentIndexChanged.connect(self._order_changed)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        top = QHBoxLayout()
        top.addWidget(self.query, 1)
        top.addWidget(self.order)
        top.addWidget(self.search_button)

        self.notice = Notice()
        self.table = row_table(COLUMNS, "Search results", stretch_column=0)
        self.table.itemSelectionChanged.connect(self._result_picked)

        self.files = RepositoryFilesView(lantern, tasks)
        self.files.clear("Pick a result to see its files and whether they fit this computer.")
        splitter = panes([self.table, self.files], stretch=(3, 2), vertical=True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.notice)
        layout.addWidget(splitter, 1)

    def search(self) -> None:
        """Ask the Hub (in the background); only the latest search's answer is shown."""
        text = self.query.text().strip()
        order = self.order.currentData()
        self._serial += 1
        self._searched = True
        serial = self._serial
        self.notice.show_info(f"Searching the Hub for “{text}”…" if text else "Searching the Hub…")
        lantern = self._lantern  # its parts are built on first use: in the task
        self._tasks.run(
            lambda: lantern.models.search(text, order),
            lambda found: self._show_results(serial, text, found),
            lambda error: self._show_error(serial, error),
        )

    def _order_changed(self) -> None:
        if self._searched:
            self.search()

    def _show_results(self, serial: int, text: str, found: list[HubModel]) -> None:
        if serial != self._serial:
            return
        self.results = found
        self.table.blockSignals(True)
        self.table.clearSelection()
        self.table.setRowCount(len(found))
        for row, model in enumerate(found):
            params = parameters_text(model.parameters / 1e9) if model.parameters else UNKNOWN
            cells = (
                model.repo,
                count_text(model.downloads),
                count_text(model.likes),
                model.architecture or UNKNOWN,
                tokens_text(model.context_length),
                params,
                "Gated" if model.gated else "Open",
            )
            for column, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if column in NUMERIC:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if model.gated:
                    item.setToolTip(
                        "A gated model: accept its terms on the Hub and add a Hub token to "
                        "download it."
                    )
                self.table.setItem(row, column, item)
        self.table.blockSignals(False)
        self.files.clear("Pick a result to see its files and whether they fit this computer.")
        if found:
            self.notice.clear_message()
        else:
            what = f"match “{text}”" if text else "were found"
            self.notice.show_info(f"No GGUF models on the Hub {what}.")

    def _show_error(self, serial: int, error: BaseException) -> None:
        if serial == self._serial:
            self.notice.show_error(error)

    def _result_picked(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        self.files.load(self.results[rows[0].row()].repo)
