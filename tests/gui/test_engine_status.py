"""The status bar says which models are loaded, in which lane, doing what, and the memory
they take; its menu unloads the idle ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from test_main_window import open_window
from test_models_page import close_window

from desktop.services.app import Lantern
from desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000


@pytest.fixture
def window(qtbot, lantern: Lantern) -> Iterator[MainWindow]:
    window = open_window(qtbot, lantern)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    yield window
    close_window(window)  # its engine reads end with it


def rows(window: MainWindow) -> list[list[str]]:
    table = window.engine_status.table
    return [
        [table.item(row, column).text() for column in range(table.columnCount())]
        for row in range(table.rowCount())
    ]


def test_a_chat_shows_its_model_loaded_and_unloading_frees_it(qtbot, window, lantern) -> None:
    status = window.engine_status
    assert status.text() == "No model loaded"
    window.chat_page.input.setPlainText("Say hello.")
    qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)

    # Read every few seconds: once the turn has let its model go, it shows idle.
    qtbot.waitUntil(lambda: [row[2] for row in rows(window)] == ["Idle"], timeout=TIMEOUT_MS)
    assert status.text().startswith("1 model loaded · ")
    [[model, lane, doing, memory]] = rows(window)
    assert (model, lane, doing) == (lantern.models.choose().id, "Interactive", "Idle")
    assert memory.endswith("MB")
    assert status.unload_action.isEnabled()

    status.unload_action.trigger()
    qtbot.waitUntil(lambda: status.text() == "No model loaded", timeout=TIMEOUT_MS)
    assert rows(window) == [] and lantern.engines.engines() == []
