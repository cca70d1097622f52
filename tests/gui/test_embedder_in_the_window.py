"""The offline embedder in the window: the Models page lists it as installed beside the chat
model, the chat's model picker never offers it, and the catalog marks embedders as for
documents."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_main_window import open_window
from test_models_page import TIMEOUT_MS, close_window, show_tab

from desktop.models.embedder_install import FILE_NAME
from desktop.models.embedders import OFFLINE_EMBEDDER_ID
from desktop.models.installed import InstalledModel
from desktop.paths import app_paths
from desktop.services.app import Lantern
from desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, installed_starter: InstalledModel, embedder_model: Path) -> Iterator[MainWindow]:
    os.link(embedder_model, app_paths().models / FILE_NAME)
    lantern = Lantern()
    window = open_window(qtbot, lantern)
    try:
        qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
        yield window
        close_window(window)
    finally:
        lantern.close()


def test_the_embedder_is_installed_but_never_a_chat_choice(
    qtbot, window: MainWindow, installed_starter: InstalledModel
) -> None:
    picker = window.chat_page.model_picker
    assert [picker.itemData(i) for i in range(picker.count())] == [installed_starter.id]
    view = show_tab(qtbot, window, "installed")
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=TIMEOUT_MS)
    rows = {view.table.item(row, 0).text(): row for row in range(view.table.rowCount())}
    assert set(rows) == {installed_starter.id, OFFLINE_EMBEDDER_ID}
    assert view.table.item(rows[OFFLINE_EMBEDDER_ID], 1).text() == "F16"


def test_the_catalog_lists_embedders_as_for_documents(qtbot, window: MainWindow) -> None:
    catalog = show_tab(qtbot, window, "catalog")
    qtbot.waitUntil(lambda: catalog.list.count() > 0, timeout=TIMEOUT_MS)
    texts = {
        catalog.entries[i].id: catalog.list.item(i).text() for i in range(catalog.list.count())
    }
    assert "Documents" in texts["nomic-embed-text-v1.5"]
    assert "Documents" not in texts["smollm2-135m-instruct"]
