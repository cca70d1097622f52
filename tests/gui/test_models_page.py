"""The Models page with real parts: the starter model, the store, the download queue, and the
local test Hub on 127.0.0.1 (search, repository files, header reads, ranged downloads)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import keyring
import keyring.core
import pytest
from conftest import CATALOG_STARTER_REPO, GATED_REPO, SPLIT_REPO, STARTER_REPO
from hub_server import Faults, LocalHub
from keyring.backend import KeyringBackend
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget
from test_main_window import open_window, running_qthreads

from desktop.models.installed import InstalledModel
from desktop.services.app import Lantern
from desktop.services.downloads import DownloadProgress
from desktop.store.downloads import DownloadPart, DownloadRecord
from desktop.ui.main_window import MainWindow
from desktop.ui.models.download_row import PROGRESS_STEPS, DownloadRow
from desktop.ui.models.downloads_view import DownloadsView
from desktop.ui.models.formatting import size_text

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000
# The test Hub serves the starter's bytes under this name (and others: faults and request
# logs go by this one).
STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DOWNLOADED_ID = f"{STARTER_REPO}/SmolLM2-135M-Instruct.Q4_1"  # models/<owner/repo>/<file>
CATALOG_DOWNLOADED_ID = f"{CATALOG_STARTER_REPO}/SmolLM2-135M-Instruct-Q4_K_M"


def close_window(window: MainWindow) -> None:
    """Close as the user does; then nothing of the window's may still run."""
    window.close()
    assert running_qthreads(window) == []
    pool = window.findChild(QThreadPool)
    assert pool is not None and pool.activeThreadCount() == 0


@pytest.fixture
def window(qtbot, lantern: Lantern) -> Iterator[MainWindow]:
    window = open_window(qtbot, lantern)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    yield window
    close_window(window)  # before the `lantern` fixture closes the queue and the store


def show_tab(qtbot, window: MainWindow, name: str) -> QWidget:
    page = window.models_page
    window.show_page(1)
    tab = getattr(page, name)
    page.tabs.setCurrentWidget(tab)
    return tab


def search(qtbot, window: MainWindow, text: str, rows: int) -> None:
    view = window.models_page.search
    view.query.clear()
    qtbot.keyClicks(view.query, text)
    qtbot.keyClick(view.query, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.table.rowCount() == rows, timeout=TIMEOUT_MS)


def results(window: MainWindow) -> list[str]:
    table = window.models_page.search.table
    return [table.item(row, 0).text() for row in range(table.rowCount())]


def pick_result(qtbot, window: MainWindow, repo: str) -> None:
    view = window.models_page.search
    view.table.selectRow(results(window).index(repo))
    qtbot.waitUntil(
        lambda: view.files.repository is not None and view.files.repository.model.repo == repo,
        timeout=TIMEOUT_MS,
    )


def fit_shown(files_view) -> bool:
    line = files_view.fit_line
    return line.isVisibleTo(files_view) and not line.message.startswith("Checking")


def only_row(window: MainWindow) -> DownloadRow | None:
    rows = list(window.models_page.downloads.rows.values())
    return rows[0] if len(rows) == 1 else None


@pytest.fixture
def throttled(test_hub: LocalHub) -> Iterator[LocalHub]:
    yield test_hub
    test_hub.faults.clear()


class MemoryKeyring(KeyringBackend):
    """Stands in for the system keyring, for one test."""

    priority = -1  # type: ignore[assignment]  # never chosen on its own

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not set")


# ---- navigation and the empty chat ----


def test_ctrl_2_and_ctrl_1_switch_between_chat_and_models(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.chat_page.input, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.sections.currentWidget() is window.models_page
    assert window.models_button.isChecked() and not window.chat_button.isChecked()
    qtbot.keyClick(window.models_page, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.sections.currentWidget() is window.chat_page
    assert window.chat_button.isChecked()
    # The rail's buttons do the same.
    qtbot.mouseClick(window.models_button, Qt.MouseButton.LeftButton)
    assert window.sections.currentWidget() is window.models_page
    qtbot.mouseClick(window.chat_button, Qt.MouseButton.LeftButton)
    assert window.sections.currentWidget() is window.chat_page


def test_get_a_model_opens_the_catalog_and_an_import_reaches_the_chat(
    qtbot, lantern_home, starter_model_path, tmp_path, monkeypatch
):
    lantern = Lantern()
    try:
        window = open_window(qtbot, lantern)
        qtbot.waitUntil(
            lambda: window.chat_page.body.currentWidget() is window.chat_page.empty_state
        )
        text = window.chat_page.empty_state.text()
        assert "No model installed" in text and "lantern models" not in text  # no terminal
        assert window.chat_page.empty_state.button.text() == "Get a model"

        qtbot.mouseClick(window.chat_page.empty_state.button, Qt.MouseButton.LeftButton)
        page = window.models_page
        assert window.sections.currentWidget() is page
        assert page.tabs.currentWidget() is page.catalog
        qtbot.waitUntil(lambda: page.catalog.list.count() > 0, timeout=TIMEOUT_MS)
        starter = page.catalog.current_entry()  # the starter is picked first
        assert starter is not None and starter.starter
        assert "★ Starter" in page.catalog.list.currentItem().text()
        assert page.catalog.chosen_quant() == starter.quant
        assert "(recommended)" in page.catalog.quant_picker.currentText()
        installed = page.installed
        qtbot.waitUntil(lambda: "No models installed yet" in installed.notice.message)

        # A file that is not a model: the reason is shown, nothing is added.
        not_a_model = tmp_path / "notes.gguf"
        not_a_model.write_text("hello")
        chosen = [str(not_a_model)]
        monkeypatch.setattr(
            QFileDialog, "getOpenFileName", lambda *args, **kwargs: (chosen.pop(), "")
        )
        show_tab(qtbot, window, "installed")
        qtbot.mouseClick(installed.import_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: installed.notice.is_error, timeout=TIMEOUT_MS)
        assert "not a GGUF model file" in installed.notice.message
        assert installed.table.rowCount() == 0

        chosen.append(str(starter_model_path))
        qtbot.mouseClick(installed.import_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: installed.table.rowCount() == 1, timeout=TIMEOUT_MS)
        assert installed.notice.message.startswith("Imported SmolLM2-135M-Instruct.Q4_1")
        # The chat's picker has it too: the empty state is gone.
        qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
        assert window.chat_page.model_picker.currentData() == "SmolLM2-135M-Instruct.Q4_1"
        assert window.chat_page.body.currentWidget() is window.chat_page.view
        close_window(window)
    finally:
        lantern.close()


# ---- installed ----


def test_installed_lists_the_starter_with_quant_size_and_context(
    qtbot, window, installed_starter: InstalledModel, monkeypatch
):
    view = show_tab(qtbot, window, "installed")
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=TIMEOUT_MS)
    cells = [view.table.item(0, column).text() for column in range(view.table.columnCount())]
    assert cells == [
        "SmolLM2-135M-Instruct.Q4_1",
        "Q4_1",
        size_text(installed_starter.size_bytes),
        "8,192 tokens",
        str(installed_starter.path),
    ]
    assert view.use_button.isEnabled() and view.delete_button.isEnabled()

    opened = []
    monkeypatch.setattr("desktop.ui.models.installed_view.QDesktopServices.openUrl", opened.append)
    qtbot.mouseClick(view.reveal_button, Qt.MouseButton.LeftButton)
    assert [url.toLocalFile() for url in opened] == [str(installed_starter.path.parent)]

    qtbot.mouseClick(view.use_button, Qt.MouseButton.LeftButton)
    assert window.sections.currentWidget() is window.chat_page
    assert window.chat_page.model_picker.currentData() == installed_starter.id


def test_delete_asks_first_cancel_keeps_the_model_and_yes_removes_it(
    qtbot, window, lantern, monkeypatch
):
    view = show_tab(qtbot, window, "installed")
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=TIMEOUT_MS)
    questions: list[str] = []
    answer = [QMessageBox.StandardButton.Cancel]

    def question(parent, title, text, *args):
        questions.append(text)
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    assert len(questions) == 1 and "SmolLM2-135M-Instruct.Q4_1" in questions[0]
    assert "98.4 MB" in questions[0]
    assert view.table.rowCount() == 1
    assert [m.id for m in lantern.models.list()] == ["SmolLM2-135M-Instruct.Q4_1"]

    answer[0] = QMessageBox.StandardButton.Yes
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.table.rowCount() == 0, timeout=TIMEOUT_MS)
    assert lantern.models.list() == []
    assert "No models installed yet" in view.notice.message
    # The chat hears of it: no model to send with.
    qtbot.waitUntil(lambda: window.chat_page.body.currentWidget() is window.chat_page.empty_state)
    assert not window.chat_page.send_button.isEnabled()
    assert window.chat_page.model_picker.count() == 0


# ---- search ----


def test_search_lists_repositories_and_a_result_shows_its_files_and_fit(qtbot, window, test_hub):
    show_tab(qtbot, window, "search")
    view = window.models_page.search
    search(qtbot, window, "smollm2", rows=3)
    assert results(window) == [STARTER_REPO, GATED_REPO, CATALOG_STARTER_REPO]  # by downloads
    row = [view.table.item(0, column).text() for column in range(view.table.columnCount())]
    assert row == [STARTER_REPO, "5,000", "40", "llama", "8,192 tokens", "135 M", "Open"]
    assert view.table.item(1, 6).text() == "Gated"

    pick_result(qtbot, window, STARTER_REPO)
    files = view.files
    assert files.table.rowCount() == 1
    cells = [files.table.item(0, column).text() for column in range(files.table.columnCount())]
    assert cells == ["Q4_1", "98.4 MB", "1 file", STARTER_FILE]
    qtbot.waitUntil(lambda: fit_shown(files), timeout=TIMEOUT_MS)
    assert not files.fit_line.is_error
    assert "needs" in files.fit_line.message and "weights" in files.fit_line.message
    assert files.download_button.isEnabled()
    # The verdict came from the file's header on the Hub: a ranged read, not the whole file.
    reads = test_hub.file_requests(STARTER_FILE)
    assert reads and all(r.range and r.range.startswith("bytes=0-") for r in reads)

    # Another order searches again; a split model shows as one model of two parts.
    search(qtbot, window, "lantern", rows=3)
    qtbot.waitUntil(lambda: results(window) == [STARTER_REPO, GATED_REPO, SPLIT_REPO])
    view.order.setCurrentIndex(view.order.findData("likes"))
    qtbot.waitUntil(
        lambda: results(window) == [SPLIT_REPO, STARTER_REPO, GATED_REPO], timeout=TIMEOUT_MS
    )
    pick_result(qtbot, window, SPLIT_REPO)
    assert files.table.item(0, 2).text() == "2 parts"
    qtbot.waitUntil(lambda: fit_shown(files), timeout=TIMEOUT_MS)
    assert "needs" in files.fit_line.message


def test_no_results_are_said_in_the_view(qtbot, window, test_hub):
    show_tab(qtbot, window, "search")
    view = window.models_page.search
    search(qtbot, window, "no-such-model-anywhere", rows=0)
    qtbot.waitUntil(lambda: "No GGUF models" in view.notice.message, timeout=TIMEOUT_MS)
    assert not view.notice.is_error


def test_an_unreachable_hub_is_said_in_the_view(qtbot, window, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    show_tab(qtbot, window, "search")
    view = window.models_page.search
    qtbot.keyClicks(view.query, "qwen")
    qtbot.keyClick(view.query, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.notice.is_error, timeout=TIMEOUT_MS)
    assert "Cannot reach the Hugging Face Hub" in view.notice.message
    assert view.table.rowCount() == 0


def test_a_gated_repository_says_how_to_get_access_and_a_token_opens_it(
    qtbot, window, test_hub, monkeypatch
):
    memory = MemoryKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", memory)
    show_tab(qtbot, window, "search")
    files = window.models_page.search.files
    search(qtbot, window, "smollm2", rows=3)
    pick_result(qtbot, window, GATED_REPO)
    qtbot.waitUntil(lambda: files.fit_line.is_error, timeout=TIMEOUT_MS)
    message = files.fit_line.message
    assert f"{GATED_REPO} is a gated model" in message
    assert "https://huggingface.co/settings/tokens" in message
    assert "Hub token" in message
    assert 'href="https://huggingface.co/settings/tokens"' in files.fit_line.text()

    # The Hub token, typed into a password field, goes to the keyring.
    page = window.models_page
    asked = []

    def get_text(parent, title, label, echo, *args, **kwargs):
        asked.append(echo)
        return test_hub.token, True

    monkeypatch.setattr(QInputDialog, "getText", get_text)
    page.token_button.enter_action.trigger()
    qtbot.waitUntil(lambda: "token saved" in page.notice.message, timeout=TIMEOUT_MS)
    assert asked == [QLineEdit.EchoMode.Password]
    assert memory.secrets == {("Lantern", "huggingface-token"): test_hub.token}

    # With it, the gated file's header can be read: a verdict instead of the error.
    pick_result(qtbot, window, STARTER_REPO)
    pick_result(qtbot, window, GATED_REPO)
    qtbot.waitUntil(lambda: fit_shown(files) and not files.fit_line.is_error, timeout=TIMEOUT_MS)
    assert "needs" in files.fit_line.message

    page.token_button.forget_action.trigger()
    qtbot.waitUntil(lambda: page.notice.message == "Hub token removed.", timeout=TIMEOUT_MS)
    assert memory.secrets == {}


# ---- downloads ----


def test_download_from_search_shows_progress_installs_and_can_be_used_for_chat(
    qtbot, window, lantern, throttled
):
    show_tab(qtbot, window, "search")
    page = window.models_page
    files = page.search.files
    search(qtbot, window, "smollm2", rows=3)
    pick_result(qtbot, window, STARTER_REPO)
    qtbot.waitUntil(lambda: fit_shown(files), timeout=TIMEOUT_MS)
    # Slow enough to see it on its way (about 4 s), fast enough for a test.
    throttled.faults[STARTER_FILE] = Faults(bytes_per_second=25_000_000)

    qtbot.mouseClick(files.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.tabs.currentWidget() is page.downloads, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: only_row(window) is not None, timeout=TIMEOUT_MS)
    row = only_row(window)
    assert row.name.text() == STARTER_FILE
    assert f"Q4_1 · {STARTER_REPO}" == row.source.text()
    qtbot.waitUntil(
        lambda: row.status == "downloading" and 0 < row.progress.value() < PROGRESS_STEPS,
        timeout=TIMEOUT_MS,
    )
    qtbot.waitUntil(lambda: "/s" in row.detail.text(), timeout=TIMEOUT_MS)
    assert " of 98.4 MB" in row.detail.text()
    assert row.buttons["pause"].isVisibleTo(row) and row.buttons["cancel"].isVisibleTo(row)
    assert not row.buttons["use"].isVisibleTo(row)

    qtbot.waitUntil(lambda: row.status == "done", timeout=TIMEOUT_MS)
    assert row.progress.value() == PROGRESS_STEPS
    assert row.status_label.text() == "Installed"
    assert f"installed as {DOWNLOADED_ID}" in row.detail.text()
    assert row.buttons["use"].isVisibleTo(row) and row.buttons["forget"].isVisibleTo(row)
    assert not row.buttons["pause"].isVisibleTo(row)

    # Installed and the chat's picker list it without being asked.
    installed = page.installed
    qtbot.waitUntil(lambda: len(installed.models) == 2, timeout=TIMEOUT_MS)
    assert installed.selected_model().id == DOWNLOADED_ID
    qtbot.waitUntil(lambda: window.chat_page.model_picker.findData(DOWNLOADED_ID) >= 0)
    assert window.chat_page.model_picker.currentData() == "SmolLM2-135M-Instruct.Q4_1"  # kept
    # The search's file now reads as installed.
    qtbot.waitUntil(lambda: files.download_button.text() == "Use for chat", timeout=TIMEOUT_MS)

    qtbot.mouseClick(row.buttons["use"], Qt.MouseButton.LeftButton)
    assert window.sections.currentWidget() is window.chat_page
    assert window.chat_button.isChecked()
    assert window.chat_page.model_picker.currentData() == DOWNLOADED_ID

    # Done downloads can leave the list; the model stays.
    show_tab(qtbot, window, "downloads")
    qtbot.mouseClick(row.buttons["forget"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.downloads.rows, timeout=TIMEOUT_MS)
    assert page.downloads.empty.isVisibleTo(page.downloads)
    assert lantern.downloads.list() == []
    assert DOWNLOADED_ID in [m.id for m in lantern.models.list()]


def test_catalog_details_check_fit_then_pause_and_resume_the_download(
    qtbot, window, lantern, throttled
):
    """The real catalog; the test Hub holds its starter entry's repository."""
    page = window.models_page
    catalog = show_tab(qtbot, window, "catalog")
    qtbot.waitUntil(lambda: catalog.list.count() > 1, timeout=TIMEOUT_MS)
    entry = catalog.current_entry()
    assert entry is not None and entry.starter and entry.repo == CATALOG_STARTER_REPO
    assert catalog.facts["Languages"].text() == "English"
    assert catalog.quant_picker.currentText() == "Q4_K_M (recommended)"

    qtbot.mouseClick(catalog.details_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: catalog.files.table.rowCount() == 2, timeout=TIMEOUT_MS)
    assert catalog.files.selected_files().quant == "Q4_K_M"  # the recommended one
    qtbot.waitUntil(lambda: fit_shown(catalog.files), timeout=TIMEOUT_MS)
    assert "needs" in catalog.files.fit_line.message
    # Picking another file there picks its quantization above too.
    catalog.files.select_quant("Q8_0")
    assert catalog.chosen_quant() == "Q8_0"
    catalog.quant_picker.setCurrentIndex(catalog.quant_picker.findData("Q4_K_M"))
    assert catalog.files.selected_files().quant == "Q4_K_M"

    # Slow: about 100 s for the whole file, so the pause lands mid-way.
    throttled.faults[STARTER_FILE] = Faults(bytes_per_second=1_000_000)
    qtbot.mouseClick(catalog.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.tabs.currentWidget() is page.downloads, timeout=TIMEOUT_MS)
    assert "queued" in catalog.notice.message
    qtbot.waitUntil(lambda: only_row(window) is not None, timeout=TIMEOUT_MS)
    row = only_row(window)
    qtbot.waitUntil(lambda: row.status == "downloading" and row.done_bytes > 0, timeout=TIMEOUT_MS)

    qtbot.mouseClick(row.buttons["pause"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: row.status == "paused", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not lantern.downloads.running(), timeout=TIMEOUT_MS)
    assert row.status_label.text() == "Paused"
    assert row.buttons["resume"].isVisibleTo(row) and row.buttons["resume"].isEnabled()
    assert not row.buttons["pause"].isVisibleTo(row)
    assert "/s" not in row.detail.text()  # no speed while paused
    kept = lantern.downloads.bytes_on_disk(lantern.downloads.list()[0])
    assert 0 < kept < lantern.downloads.list()[0].total_bytes

    throttled.faults.clear()  # full speed from here
    qtbot.mouseClick(row.buttons["resume"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: row.status == "done", timeout=TIMEOUT_MS)
    # It went on from the bytes it had: the resumed request began past zero.
    ranges = [r.range for r in throttled.file_requests(STARTER_FILE) if r.range]
    assert any(not r.startswith("bytes=0-") for r in ranges), ranges
    qtbot.waitUntil(lambda: len(page.installed.models) == 2, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.chat_page.model_picker.findData(CATALOG_DOWNLOADED_ID) >= 0)


def test_cancel_stops_the_download_and_deletes_its_bytes(qtbot, window, lantern, throttled):
    page = window.models_page
    catalog = show_tab(qtbot, window, "catalog")
    qtbot.waitUntil(lambda: catalog.list.count() > 1, timeout=TIMEOUT_MS)
    throttled.faults[STARTER_FILE] = Faults(bytes_per_second=1_000_000)
    qtbot.mouseClick(catalog.download_button, Qt.MouseButton.LeftButton)  # without details
    qtbot.waitUntil(lambda: only_row(window) is not None, timeout=TIMEOUT_MS)
    row = only_row(window)
    assert row.source.text() == f"Q4_K_M · {CATALOG_STARTER_REPO}"  # the recommended quant
    qtbot.waitUntil(lambda: row.status == "downloading" and row.done_bytes > 0, timeout=TIMEOUT_MS)

    qtbot.mouseClick(row.buttons["cancel"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: row.status == "cancelled", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not lantern.downloads.running(), timeout=TIMEOUT_MS)
    assert row.status_label.text() == "Cancelled"
    assert [key for key, button in row.buttons.items() if button.isVisibleTo(row)] == ["forget"]
    assert lantern.downloads.bytes_on_disk(lantern.downloads.list()[0]) == 0
    assert not row.progress.isVisibleTo(row)

    qtbot.mouseClick(row.buttons["forget"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.downloads.rows, timeout=TIMEOUT_MS)
    assert lantern.downloads.list() == []
    assert [m.id for m in lantern.models.list()] == ["SmolLM2-135M-Instruct.Q4_1"]


def test_a_failed_download_shows_its_error_and_can_be_removed(qtbot, window, lantern, test_hub):
    """A gated file without a token: the worker's refusal is written on the row."""
    show_tab(qtbot, window, "search")
    page = window.models_page
    files = page.search.files
    search(qtbot, window, "smollm2", rows=3)
    pick_result(qtbot, window, GATED_REPO)
    qtbot.waitUntil(lambda: files.download_button.isEnabled())
    qtbot.mouseClick(files.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: only_row(window) is not None, timeout=TIMEOUT_MS)
    row = only_row(window)
    qtbot.waitUntil(lambda: row.status == "failed", timeout=TIMEOUT_MS)
    assert row.status_label.text() == "Failed"
    assert row.error.is_error and "gated" in row.error.message
    assert row.buttons["resume"].isVisibleTo(row) and row.buttons["forget"].isVisibleTo(row)

    qtbot.mouseClick(row.buttons["forget"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.downloads.rows, timeout=TIMEOUT_MS)
    assert lantern.downloads.list() == []


def _record(status: str = "downloading", done: int = 0) -> DownloadRecord:
    now = datetime.now(UTC)
    return DownloadRecord(
        id=1,
        repo=STARTER_REPO,
        revision="abc",
        name=STARTER_FILE,
        quant="Q4_1",
        parts=(DownloadPart(STARTER_FILE, 1000, None),),
        done_bytes=done,
        status=status,
        error=None,
        model_id=None,
        created_at=now,
        updated_at=now,
    )


def test_a_burst_of_progress_redraws_a_row_once(qtbot, monkeypatch):
    parent = QWidget()
    qtbot.addWidget(parent)
    # No queue behind it: the view is fed its news directly.
    view = DownloadsView(lantern=None, tasks=None, parent=parent)  # type: ignore[arg-type]
    record = _record()
    view.on_news(record, None)
    view.flush()
    row = view.rows[1]
    redraws = []
    monkeypatch.setattr(row, "set_progress", redraws.append)
    for done in range(1, 201):
        view.on_news(record, DownloadProgress(1, done * 5, 1000, 100.0, 1.0))
    assert redraws == []  # nothing drawn yet: the reports wait for the next tick
    qtbot.waitUntil(lambda: len(redraws) == 1)
    assert redraws[0].done_bytes == 1000  # the latest one
    # A late report with the transfer's old record does not undo a pause.
    paused = dataclasses.replace(record, status="paused", updated_at=datetime.now(UTC))
    monkeypatch.undo()
    view.on_news(paused, None)
    view.on_news(record, DownloadProgress(1, 600, 1000, 100.0, 1.0))
    qtbot.waitUntil(lambda: row.done_bytes == 600)
    assert row.status == "paused" and row.status_label.text() == "Paused"
    assert "/s" not in row.detail.text()
