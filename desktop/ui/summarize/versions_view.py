"""The summaries of one source side by side, oldest on the left, newest on the right: each
column headed by its options and model, so that the user can compare them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.summarize.options_bar import describe_options
from desktop.ui.summarize.result_view import SummaryView
from desktop.ui.widgets.session_history import local_time, status_words

if TYPE_CHECKING:
    from desktop.store.summaries import SummaryRecord


def version_heading(record: SummaryRecord) -> str:
    parts = [describe_options(record.options), record.model_id or ""]
    if record.status != "complete":
        parts.append(status_words(record.status))
    return " · ".join(part for part in parts if part)


class VersionColumn(QWidget):
    def __init__(self, number: int, record: SummaryRecord, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record = record
        self.heading = QLabel(f"<b>Version {number}</b> · {local_time(record.created_at)}")
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.options_label = QLabel(version_heading(record))
        self.options_label.setWordWrap(True)
        self.options_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open")
        self.open_button.setAccessibleName(f"Open version {number}")
        self.open_button.setToolTip("Show this version with its options")
        self.view = SummaryView(f"Version {number}")
        self.view.set_markdown(record.result)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.heading, 1)
        top.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.options_label)
        layout.addWidget(self.view, 1)


class VersionsView(QWidget):
    closed = Signal()
    open_requested = Signal(int)  # a version's summary id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.close_button = QPushButton("Close comparison")
        self.close_button.setAccessibleName("Close comparison")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        self.close_button.clicked.connect(lambda _checked=False: self.closed.emit())

    def columns(self) -> list[VersionColumn]:
        shown = (self.splitter.widget(i) for i in range(self.splitter.count()))
        return [column for column in shown if isinstance(column, VersionColumn)]

    def show_versions(self, records: list[SummaryRecord]) -> None:
        """`records` oldest first: the newest ends up on the right."""
        for column in self.columns():
            column.hide()
            column.setParent(None)
            column.deleteLater()
        for number, record in enumerate(records, start=1):
            column = VersionColumn(number, record)
            column.open_button.clicked.connect(
                lambda _checked=False, summary_id=record.id: self.open_requested.emit(summary_id)
            )
            self.splitter.addWidget(column)
        self.splitter.setSizes([1000] * len(records))  # equal widths
        self.title.setText(f"{len(records)} versions of this text, newest on the right")
