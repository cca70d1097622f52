"""A Hub repository's GGUF models: one row per quantization (split files as one), the
memory-fit verdict of the selected one, and a button to download it (or use it, when it is
installed already). Shared by the catalog and search views; every Hub read runs off the
GUI thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import InvalidModelFile
from desktop.ui.models.formatting import size_text
from desktop.ui.page import LanternWidget
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.row_table import row_table
from desktop.ui.widgets.throttle import Throttle

if TYPE_CHECKING:
    from desktop.models.fit import FitEstimate
    from desktop.models.hub import HubRepository
    from desktop.models.installed import InstalledModel
    from desktop.models.repo_files import ModelFiles
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks

COLUMNS = ("Quantization", "Size", "Files", "File name")
ASSESS_DELAY_MS = 250  # a selection held this long gets its header read


@dataclass(frozen=True)
class FileAssessment:
    """What the selected file would be on this machine: installed already, its fit, or why
    Lantern refuses it (a header llama.cpp would not load), before anything is downloaded."""

    installed: InstalledModel | None
    fit: FitEstimate | None
    refusal: str | None = None


class RepositoryFilesView(LanternWidget):
    download_requested = Signal(str, str, object)  # repo, revision, ModelFiles
    use_requested = Signal(str)  # the installed model's id

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self.repository: HubRepository | None = None
        self._preferred_quant: str | None = None
        self._load_serial = 0
        self._assess_serial = 0
        self._fits: dict[tuple[str, str, str], FitEstimate] = {}
        self._installed: InstalledModel | None = None

        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice = Notice()
        self.table = row_table(COLUMNS, "Model files")
        self.table.itemSelectionChanged.connect(self._file_picked)
        self._assess_soon = Throttle(self._assess_selected, ASSESS_DELAY_MS, parent=self)

        self.fit_line = Notice()
        self.fit_line.setAccessibleName("Memory fit")
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Download the selected file and install it")
        self.download_button.clicked.connect(self._download_clicked)
        self.download_button.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.fit_line, 1)
        row.addWidget(self.download_button, 0, Qt.AlignmentFlag.AlignTop)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.notice)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self.clear()

    # ---- what the view shows ----

    def clear(self, message: str = "") -> None:
        self._load_serial += 1
        self._assess_serial += 1
        self.repository = None
        self._installed = None
        self.title.clear()
        self.table.setRowCount(0)
        self.fit_line.clear_message()
        self.download_button.setEnabled(False)
        self.download_button.setText("Download")
        if message:
            self.notice.show_info(message)
        else:
            self.notice.clear_message()

    def load(self, repo_or_catalog_id: str, quant: str | None = None) -> None:
        """List the repository's model files (a Hub read, in the background); select `quant`."""
        self.clear(f"Reading the files of {repo_or_catalog_id} on the Hub…")
        self._preferred_quant = quant
        serial = self._load_serial
        lantern = self._lantern  # its parts are built on first use: in the task
        self._tasks.run(
            lambda: lantern.models.repository(repo_or_catalog_id),
            lambda repository: self._show_repository(serial, repository),
            lambda error: self._show_load_error(serial, error),
        )

    def selected_files(self) -> ModelFiles | None:
        if self.repository is None:
            return None
        rows = self.table.selectionModel().selectedRows()
        return self.repository.files[rows[0].row()] if rows else None

    def select_quant(self, quant: str) -> None:
        """Select the file of this quantization, if the repository has one."""
        if self.repository is None:
            self._preferred_quant = quant
            return
        for index, files in enumerate(self.repository.files):
            if files.quant.upper() == quant.upper():
                self.table.selectRow(index)
                return

    def _show_repository(self, serial: int, repository: HubRepository) -> None:
        if serial != self._load_serial:
            return  # another repository was asked for since
        self.repository = repository
        self.notice.clear_message()
        count = len(repository.files)
        self.title.setText(
            f"{repository.model.repo}: {count} model file{'s' if count != 1 else ''}"
            if count
            else f"{repository.model.repo} holds no GGUF model files."
        )
        if notice := repository.left_out_notice():
            self.notice.show_error(notice)
        self.table.setRowCount(count)
        for row, files in enumerate(repository.files):
            parts = f"{len(files.parts)} parts" if files.is_split else "1 file"
            cells = (files.quant, size_text(files.size), parts, files.name)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip("\n".join(p.path for p in files.parts))
                if column in (1, 2):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(row, column, item)
        if count:
            # One selection, so only the file shown is checked against the Hub.
            wanted = (self._preferred_quant or "").upper()
            quants = [files.quant.upper() for files in repository.files]
            self.table.selectRow(quants.index(wanted) if wanted in quants else 0)

    def _show_load_error(self, serial: int, error: BaseException) -> None:
        if serial == self._load_serial:
            self.notice.show_error(error)

    # ---- the selected file ----

    def _file_picked(self) -> None:
        self._assess_serial += 1
        self._installed = None
        files = self.selected_files()
        repository = self.repository
        self.download_button.setText("Download")
        self.download_button.setEnabled(files is not None)
        if files is None or repository is None:
            self.fit_line.clear_message()
            return
        self.fit_line.show_info(f"Checking whether {files.quant} fits this computer…")
        # Arrowing through the files reads only the header of the one the user stops at.
        self._assess_soon.restart()

    def _assess_selected(self) -> None:
        files = self.selected_files()
        repository = self.repository
        if files is None or repository is None:
            return
        serial = self._assess_serial
        key = (repository.model.repo, repository.revision, files.name)
        known = self._fits.get(key)
        lantern = self._lantern

        def assess() -> FileAssessment:
            installed = lantern.downloads.installed(repository.model.repo, files)
            if installed is not None:
                return FileAssessment(installed, None)
            if known is not None:
                return FileAssessment(None, known)
            # The header's first megabytes, over the network: seconds on a slow connection.
            try:
                info = lantern.models.remote_info(repository, files)
            except InvalidModelFile as exc:
                return FileAssessment(None, None, refusal=exc.message)
            return FileAssessment(None, lantern.models.fit(info))

        self._tasks.run(
            assess,
            lambda result: self._show_assessment(serial, key, result),
            lambda error: self._show_assessment_error(serial, error),
        )

    def _show_assessment(
        self, serial: int, key: tuple[str, str, str], result: FileAssessment
    ) -> None:
        if serial != self._assess_serial:
            return  # the user has picked another file since
        if result.installed is not None:
            self._installed = result.installed
            self.fit_line.show_info(f"Installed as {result.installed.id}.")
            self.download_button.setText("Use for chat")
            return
        if result.refusal is not None:
            self.fit_line.show_error(result.refusal)
            self.download_button.setEnabled(False)  # it would be refused at install anyway
            return
        assert result.fit is not None
        self._fits[key] = result.fit
        summary = result.fit.summary()
        if result.fit.verdict == "too_big":
            self.fit_line.show_error(summary)
        else:
            self.fit_line.show_info(summary)

    def _show_assessment_error(self, serial: int, error: BaseException) -> None:
        if serial == self._assess_serial:
            self.fit_line.show_error(error)

    def _download_clicked(self) -> None:
        if self._installed is not None:
            self.use_requested.emit(self._installed.id)
            return
        files = self.selected_files()
        if files is not None and self.repository is not None:
            self.download_requested.emit(
                self.repository.model.repo, self.repository.revision, files
            )

    def recheck_installed(self) -> None:
        """Installed models changed: look again at whether the selected file is one."""
        if self.repository is not None and self.selected_files() is not None:
            self._file_picked()
