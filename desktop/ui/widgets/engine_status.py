"""The engines at work, in the status bar: how many models are loaded and the memory they
take; its menu lists each engine process (the model, its lane, what it is doing, its
memory) and unloads the idle ones. Read from the engine pool every few seconds, off the GUI
thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QWidget,
    QWidgetAction,
)

from desktop.ui.error_text import error_text
from desktop.ui.models.formatting import size_text

if TYPE_CHECKING:
    from desktop.engine.pool import EngineView
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks

REFRESH_MS = 2000
COLUMNS = ("Model", "Lane", "Doing", "Memory")
LANE_NAMES = {"interactive": "Interactive", "background": "Background"}


def doing_text(view: EngineView) -> str:
    """What the process does now: "Chat", "Summary", "Chat (summary paused)", "Idle"."""
    if view.borrowed_by:
        return f"{view.borrowed_by.capitalize()} ({view.task} paused)"
    return view.task.capitalize() if view.task else "Idle"


class EngineStatus(QToolButton):
    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._lantern = lantern
        self._tasks = tasks
        self.engines: list[EngineView] = []
        self.setAutoRaise(True)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setAccessibleName("Loaded models")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for policy in (
            self.table.setHorizontalScrollBarPolicy,
            self.table.setVerticalScrollBarPolicy,
        ):
            policy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        menu = QMenu(self)
        listing = QWidgetAction(menu)
        listing.setDefaultWidget(self.table)
        menu.addAction(listing)
        self.unload_action = menu.addAction("Unload idle models")
        self.unload_action.triggered.connect(self.unload_idle)
        self.setMenu(menu)
        # The next read is timed from the end of the last: reads never pile up behind a pool
        # that is busy ending a process.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._watching = False
        self._show([])

    def start(self) -> None:
        self._watching = True
        self.refresh()

    def stop(self) -> None:
        self._watching = False
        self._timer.stop()

    def refresh(self) -> None:
        lantern = self._lantern
        self._tasks.run(lambda: lantern.engines.engines(), self._refreshed, self._refresh_failed)

    def _refreshed(self, engines: list[EngineView]) -> None:
        self._show(engines)
        self._read_again()

    def _refresh_failed(self, error: BaseException) -> None:
        self._not_read(error)
        self._read_again()

    def _read_again(self) -> None:
        if self._watching:
            self._timer.start()

    def unload_idle(self) -> None:
        lantern = self._lantern

        def unload() -> list[EngineView]:
            lantern.engines.unload_idle()
            return lantern.engines.engines()

        self._tasks.run(unload, self._show, self._not_read)

    def _show(self, engines: list[EngineView]) -> None:
        self.engines = engines
        memory = sum(view.counted_bytes for view in engines)
        models = len({view.model_id for view in engines})
        if not engines:
            self.setText("No model loaded")
        else:
            loaded = "1 model loaded" if models == 1 else f"{models} models loaded"
            self.setText(f"{loaded} · {size_text(memory)}")
        self.setToolTip("Models loaded in Lantern's engines, and the memory they take")
        self.table.setRowCount(len(engines))
        for row, view in enumerate(engines):
            cells = (view.model_id, LANE_NAMES[view.lane], doing_text(view))
            for column, text in enumerate((*cells, size_text(view.counted_bytes))):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.unload_action.setEnabled(any(v.task is None and not v.borrowed_by for v in engines))
        self._fit_table()

    def _fit_table(self) -> None:
        """The menu's table as big as its rows and columns: a menu does not scroll."""
        table = self.table
        frame = 2 * table.frameWidth()
        header = table.horizontalHeader()
        table.setFixedSize(
            header.length() + table.verticalHeader().width() + frame,
            header.height() + table.verticalHeader().length() + frame,
        )

    def _not_read(self, error: BaseException) -> None:
        self.setToolTip(f"Could not read the engines: {error_text(error)}")
