"""The installed models: use one for chat, show it in the file manager, delete it, or import
a GGUF file from disk."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.models.formatting import size_text, tokens_text
from desktop.ui.page import LanternWidget
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.row_table import row_table

if TYPE_CHECKING:
    from desktop.models.installed import InstalledModel
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks

COLUMNS = ("Model", "Quantization", "Size", "Context", "Location")
EMPTY = "No models installed yet. Download one from the Catalog or Search, or import a GGUF file."


class InstalledView(LanternWidget):
    use_requested = Signal(str)  # model id
    models_changed = Signal()  # a model was imported or deleted here

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self.models: list[InstalledModel] = []
        self._serial = 0
        self._busy = False
        self._wanted: str | None = None  # select this model once the list shows it

        self.table = row_table(COLUMNS, "Installed models")
        self.table.itemSelectionChanged.connect(self._update_actions)
        self.table.itemDoubleClicked.connect(lambda _item: self.use_selected())

        self.use_button = QPushButton("Use for chat")
        self.use_button.clicked.connect(self.use_selected)
        self.reveal_button = QPushButton("Show in file manager")
        self.reveal_button.setToolTip("Open the folder that holds the model's file")
        self.reveal_button.clicked.connect(self.reveal_selected)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self.delete_selected)
        self.import_button = QPushButton("Import GGUF…")
        self.import_button.setToolTip("Add a GGUF model file you already have")
        self.import_button.clicked.connect(self.import_file)
        buttons = QHBoxLayout()
        for button in (self.use_button, self.reveal_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)

        self.notice = Notice()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)
        self._update_actions()

    # ---- the list ----

    def refresh(self, select: str | None = None) -> None:
        """Read the installed models (headers are cached; still a disk read: background)."""
        self._wanted = select or self._wanted
        self._serial += 1
        serial = self._serial
        self._tasks.run(
            lambda: self._lantern.models.list(),  # parts are built on first use: in the task
            lambda models: self._show_models(serial, models),
            self.notice.show_error,
        )

    def _show_models(self, serial: int, models: list[InstalledModel]) -> None:
        if serial != self._serial:
            return  # a newer read is on its way
        previous = self.selected_model()
        wanted = self._wanted or (previous.id if previous else None)
        self._wanted = None
        self.models = models
        self.table.blockSignals(True)
        self.table.clearSelection()
        self.table.setRowCount(len(models))
        for row, model in enumerate(models):
            cells = (
                model.id,
                model.info.quantization,
                size_text(model.size_bytes),
                tokens_text(model.info.context_length),
                str(model.path),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(
                    f"{model.info.name} ({model.info.architecture})\n{model.path}"
                    + (f"\n{len(model.files)} parts" if len(model.files) > 1 else "")
                )
                self.table.setItem(row, column, item)
        self.table.blockSignals(False)
        if models:
            ids = [m.id for m in models]
            self.table.selectRow(ids.index(wanted) if wanted in ids else 0)
        if not models:
            self.notice.show_info(EMPTY)
        elif self.notice.message == EMPTY:
            self.notice.clear_message()
        self._update_actions()

    def selected_model(self) -> InstalledModel | None:
        rows = self.table.selectionModel().selectedRows()
        return self.models[rows[0].row()] if rows and rows[0].row() < len(self.models) else None

    def _update_actions(self) -> None:
        chosen = self.selected_model() is not None
        for button in (self.use_button, self.reveal_button, self.delete_button):
            button.setEnabled(chosen and not self._busy)
        self.import_button.setEnabled(not self._busy)

    # ---- actions ----

    def use_selected(self) -> None:
        model = self.selected_model()
        if model is not None:
            self.use_requested.emit(model.id)

    def reveal_selected(self) -> None:
        model = self.selected_model()
        if model is not None:
            # The folder, not the file: opening the file would ask which app should run it.
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(model.path.parent)))

    def delete_selected(self) -> None:
        model = self.selected_model()
        if model is None:
            return
        parts = f" ({len(model.files)} files)" if len(model.files) > 1 else ""
        answer = QMessageBox.question(
            self,
            "Delete model",
            f"Delete {model.id}{parts}? This frees {size_text(model.size_bytes)}; "
            "you would have to download or import it again to use it.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._start(f"Deleting {model.id}…")
        lantern = self._lantern  # its parts are built on first use: in the task
        self._tasks.run(
            lambda: lantern.models.remove(model.id),
            lambda removed: self._finished(f"Deleted {removed.id}."),
            self._failed,
        )

    def import_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Import a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if not path:
            return
        self._start(f"Importing {Path(path).name}… (checking the file, then copying it)")
        lantern = self._lantern  # its parts are built on first use: in the task
        self._tasks.run(
            lambda: lantern.models.import_file(Path(path)),
            self._imported,
            self._failed,
        )

    def _imported(self, model: InstalledModel) -> None:
        self._finished(f"Imported {model.id} ({model.info.quantization}).", select=model.id)

    def _start(self, message: str) -> None:
        self._busy = True
        self.notice.show_info(message)
        self._update_actions()

    def _finished(self, message: str, select: str | None = None) -> None:
        self._busy = False
        self.notice.show_info(message)
        self._update_actions()
        self.refresh(select)
        self.models_changed.emit()

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        self.notice.show_error(error)
        self._update_actions()
