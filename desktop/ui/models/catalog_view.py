"""The curated catalog (models.json): what each model is good for, in which quantization to
download it, and, on request, its files on the Hub with the memory-fit verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.models.formatting import parameters_text, tokens_text
from desktop.ui.models.repository_files import RepositoryFilesView
from desktop.ui.page import LanternWidget
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.panes import panes

if TYPE_CHECKING:
    from desktop.models.catalog import CatalogEntry
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks

STARTER_MARK = "★ Starter"
DETAILS_HINT = (
    "“Details / check fit” lists this model's files on the Hugging Face Hub and tells "
    "whether the chosen one fits this computer's memory."
)


def language_names(codes: tuple[str, ...]) -> str:
    return ", ".join(QLocale.languageToString(QLocale(code).language()) for code in codes)


def uses_text(uses: tuple[str, ...]) -> str:
    return ", ".join(use.capitalize() for use in uses)


class CatalogView(LanternWidget):
    download_requested = Signal(str, str)  # catalog id, quantization

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self.entries: list[CatalogEntry] = []
        self._loaded = False

        self.list = QListWidget()
        self.list.setAccessibleName("Catalog")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(self._entry_picked)

        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.TextFormat.PlainText)
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts: dict[str, QLabel] = {}
        facts = QFormLayout()
        facts.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name in ("Family", "Parameters", "Good for", "Languages", "Context", "License"):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.facts[name] = label
            facts.addRow(f"{name}:", label)
        self.repo_link = QLabel()
        self.repo_link.setOpenExternalLinks(True)
        facts.addRow("On the Hub:", self.repo_link)

        self.quant_picker = QComboBox()
        self.quant_picker.setAccessibleName("Quantization")
        self.quant_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.quant_picker.setToolTip(
            "Smaller quantizations download faster and need less memory; larger ones answer a "
            "little better."
        )
        self.quant_picker.currentIndexChanged.connect(self._quant_picked)
        quant_label = QLabel("&Quantization:")
        quant_label.setBuddy(self.quant_picker)
        self.download_button = QPushButton("Download")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self._download_clicked)
        self.details_button = QPushButton("Details / check fit")
        self.details_button.setToolTip(
            "List the model's files on the Hub and check whether they fit this computer"
        )
        self.details_button.clicked.connect(self.show_details)
        actions = QHBoxLayout()
        actions.addWidget(quant_label)
        actions.addWidget(self.quant_picker)
        actions.addWidget(self.download_button)
        actions.addWidget(self.details_button)
        actions.addStretch(1)

        self.notice = Notice()
        self.files = RepositoryFilesView(lantern, tasks)
        self.files.table.itemSelectionChanged.connect(self._file_picked)

        detail = QWidget()
        column = QVBoxLayout(detail)
        column.setContentsMargins(12, 0, 0, 0)
        column.addWidget(self.title)
        column.addWidget(self.description)
        column.addSpacing(4)
        column.addLayout(facts)
        column.addSpacing(4)
        column.addLayout(actions)
        column.addWidget(self.notice)
        column.addWidget(self.files, 1)
        self._detail = detail

        splitter = panes([self.list, detail], stretch=(0, 1), sizes=(300, 600))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self._set_entry(None)

    # ---- reading the catalog ----

    def load(self) -> None:
        """Read the catalog (a file: in the background), once."""
        if self._loaded:
            return
        self._loaded = True
        self._tasks.run(self._lantern.models.catalog, self._show_entries, self._show_load_error)

    def _show_load_error(self, error: BaseException) -> None:
        self._loaded = False  # try again next time the page is shown
        self.notice.show_error(error)

    def _show_entries(self, entries: list[CatalogEntry]) -> None:
        self.entries = entries
        self.list.clear()
        for entry in entries:
            first = f"{entry.name}   {STARTER_MARK}" if entry.starter else entry.name
            item = QListWidgetItem(
                f"{first}\n{parameters_text(entry.parameters_b)} · {uses_text(entry.good_for)}"
            )
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
            item.setToolTip(entry.description)
            self.list.addItem(item)
        starter = next((i for i, e in enumerate(entries) if e.starter), 0)
        if entries:
            self.list.setCurrentRow(starter)

    def current_entry(self) -> CatalogEntry | None:
        item = self.list.currentItem()
        if item is None:
            return None
        entry_id = item.data(Qt.ItemDataRole.UserRole)
        return next((e for e in self.entries if e.id == entry_id), None)

    # ---- one entry ----

    def _entry_picked(self, _item: QListWidgetItem | None, _previous: object) -> None:
        self._set_entry(self.current_entry())

    def _set_entry(self, entry: CatalogEntry | None) -> None:
        self.files.clear(DETAILS_HINT)
        self.notice.clear_message()
        self._detail.setEnabled(entry is not None)
        self.quant_picker.blockSignals(True)
        self.quant_picker.clear()
        self.quant_picker.blockSignals(False)
        if entry is None:
            self.title.setText("<h2>Catalog</h2>")
            self.description.setText("Reading the catalog…")
            for label in self.facts.values():
                label.clear()
            self.repo_link.clear()
            return
        starter = f" <small>{STARTER_MARK}</small>" if entry.starter else ""
        self.title.setText(f"<h2>{entry.name}{starter}</h2>")
        self.description.setText(entry.description)
        self.facts["Family"].setText(entry.family)
        self.facts["Parameters"].setText(parameters_text(entry.parameters_b))
        self.facts["Good for"].setText(uses_text(entry.good_for))
        self.facts["Languages"].setText(language_names(entry.languages))
        self.facts["Context"].setText(tokens_text(entry.context_length))
        self.facts["License"].setText(entry.license)
        url = f"https://huggingface.co/{entry.repo}"
        self.repo_link.setText(f'<a href="{url}">{entry.repo}</a>')
        for quant in entry.quants:
            shown = f"{quant} (recommended)" if quant == entry.quant else quant
            self.quant_picker.addItem(shown, quant)
        self.quant_picker.setCurrentIndex(self.quant_picker.findData(entry.quant))

    def chosen_quant(self) -> str | None:
        return self.quant_picker.currentData()

    def _quant_picked(self) -> None:
        quant = self.chosen_quant()
        if quant and self.files.repository is not None:
            self.files.select_quant(quant)

    def _file_picked(self) -> None:
        # Picking a file in the details picks its quantization above too, where offered.
        files = self.files.selected_files()
        index = self.quant_picker.findData(files.quant) if files else -1
        if index >= 0:
            self.quant_picker.blockSignals(True)
            self.quant_picker.setCurrentIndex(index)
            self.quant_picker.blockSignals(False)

    def show_details(self) -> None:
        entry = self.current_entry()
        if entry is None:
            return
        self.files.load(entry.id, self.chosen_quant())

    def _download_clicked(self) -> None:
        entry, quant = self.current_entry(), self.chosen_quant()
        if entry is not None and quant:
            self.notice.show_info(f"Preparing the download of {entry.name} ({quant})…")
            self.download_requested.emit(entry.id, quant)
