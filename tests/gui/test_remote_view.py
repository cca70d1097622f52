"""The Models page's Remote tab against llama-cpp-python's own server on 127.0.0.1: add a
remote through the dialog (the key in a password field, kept in the keyring), test its
connection, remove it after a confirmation; every network call off the GUI thread."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_cpp_server import LlamaCppServer, free_port
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit, QMessageBox

from desktop.models.remotes import save_api_key, stored_api_key
from desktop.paths import app_paths
from desktop.services import remotes as remotes_module
from desktop.services.app import Lantern
from desktop.ui.bridge import BackgroundTasks
from desktop.ui.models.add_remote_dialog import AddRemoteDialog
from desktop.ui.models.page import ModelsPage
from desktop.ui.models.remote_view import ANSWERS, NO_ANSWER, RemoteView

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000


@pytest.fixture
def app(file_keyring: Path) -> Iterator[Lantern]:
    lantern = Lantern()
    yield lantern
    lantern.close()


@pytest.fixture
def page(qtbot, app: Lantern) -> Iterator[ModelsPage]:
    """The Models page on its own, with the Remote tab showing."""
    pool = QThreadPool()
    pool.setMaxThreadCount(2)  # the window's, on a machine of 2 cores
    tasks = BackgroundTasks(pool)
    page = ModelsPage(app, tasks)
    qtbot.addWidget(page)
    page.tabs.setCurrentWidget(page.remote)
    page.show()
    yield page
    page.shutdown()
    tasks.close()
    pool.waitForDone()


class SilentServer:
    """Takes connections on 127.0.0.1 and never answers, until `hang_up()` closes them: a
    server that has stopped answering without refusing."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._hung_up = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # hung up
                return
            with self._lock:
                if self._hung_up:
                    connection.close()
                    return
                self.connections.append(connection)

    def hang_up(self) -> None:
        with self._lock:
            self._hung_up = True
            connections = list(self.connections)
        with contextlib.suppress(OSError):  # wakes the accept (a close alone may not)
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for connection in connections:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.hang_up()


def move_remote(name: str, url: str, **changes: object) -> None:
    """Edit the remotes file as another Lantern (or a person) might."""
    remotes = json.loads(app_paths().remotes_file.read_text())
    for entry in remotes["remotes"]:
        if entry["name"] == name:
            entry.update(url=url, **changes)
    app_paths().remotes_file.write_text(json.dumps(remotes))


def add_through_the_dialog(qtbot, view: RemoteView, url: str, key: str) -> AddRemoteDialog:
    """Open the Add dialog, type a remote "gpu" at `url` with `key`, press Test and add."""
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.name_field, "gpu")
    qtbot.keyClicks(dialog.url_field, url)
    qtbot.keyClicks(dialog.key_field, key)
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    return dialog


def cell(view: RemoteView, row: int, column: int) -> str:
    item = view.table.item(row, column)
    return item.text() if item is not None else ""


def test_a_remote_is_added_through_the_dialog_and_its_models_shown(
    qtbot, page: ModelsPage, llama_cpp_server: LlamaCppServer
) -> None:
    view = page.remote
    assert page.tabs.tabText(page.tabs.indexOf(view)) == "&Remote"
    qtbot.waitUntil(lambda: view.notice.message.startswith("No remote engines yet"))
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.key_field.echoMode() == QLineEdit.EchoMode.Password
    assert not dialog.add_button.isEnabled()  # nothing typed yet
    qtbot.keyClicks(dialog.name_field, "gpu")
    qtbot.keyClicks(dialog.url_field, f"{llama_cpp_server.url}/v1")
    qtbot.keyClicks(dialog.key_field, llama_cpp_server.api_key)
    with qtbot.waitSignals([view.remotes_changed, page.models_changed], timeout=TIMEOUT_MS):
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert view.notice.message.startswith("Added gpu. It answered in ")
    assert "(llama-cpp-python server) and serves 1 model." in view.notice.message
    qtbot.waitUntil(lambda: view.table.rowCount() == 1 and cell(view, 0, 2) == ANSWERS)
    assert (cell(view, 0, 0), cell(view, 0, 1)) == ("gpu", llama_cpp_server.url)
    assert cell(view, 0, 3).endswith(" ms") and cell(view, 0, 4) == "1"
    assert [view.models_list.item(row).text() for row in range(view.models_list.count())] == [
        f"gpu:{llama_cpp_server.model} — context not stated by the server"
    ]
    assert "applies the model's chat template itself" in view.details.text()
    assert stored_api_key("gpu") == llama_cpp_server.api_key
    assert llama_cpp_server.api_key not in app_paths().remotes_file.read_text()


def test_a_wrong_key_is_said_in_the_dialog_which_stays_open(
    qtbot, page: ModelsPage, llama_cpp_server: LlamaCppServer
) -> None:
    view = page.remote
    dialog = add_through_the_dialog(qtbot, view, llama_cpp_server.url, "not-the-key")
    qtbot.waitUntil(lambda: dialog.notice.is_error, timeout=TIMEOUT_MS)
    assert dialog.notice.message.startswith("The server gpu refused the API key (HTTP 401")
    assert "add it again" in dialog.notice.message  # the window's advice
    assert dialog.isVisible() and dialog.add_button.isEnabled()
    assert view.table.rowCount() == 0
    dialog.reject()


def test_testing_a_connection_shows_latency_and_models_or_the_error(
    qtbot, page: ModelsPage, app: Lantern, llama_cpp_server: LlamaCppServer
) -> None:
    view = page.remote
    app.remotes.add("gpu", llama_cpp_server.url, llama_cpp_server.api_key)
    view.refresh()
    qtbot.waitUntil(lambda: cell(view, 0, 2) == ANSWERS, timeout=TIMEOUT_MS)
    qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    assert not view.test_button.isEnabled()  # while it tests
    qtbot.waitUntil(lambda: view.notice.message.startswith("gpu answers."), timeout=TIMEOUT_MS)
    assert view.test_button.isEnabled() and cell(view, 0, 3).endswith(" ms")

    # The server moves away: the next test says so in words.
    move_remote("gpu", f"http://127.0.0.1:{free_port()}")
    app.remotes.close()  # the connection to the old address goes
    qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.notice.is_error, timeout=TIMEOUT_MS)
    assert "nothing answers at that address and port" in view.notice.message
    assert "Check that the server is running" in view.notice.message
    assert cell(view, 0, 2) == NO_ANSWER


def test_removing_asks_first_then_forgets_the_remote_and_its_key(
    qtbot,
    page: ModelsPage,
    app: Lantern,
    llama_cpp_server: LlamaCppServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = page.remote
    app.remotes.add("gpu", llama_cpp_server.url, llama_cpp_server.api_key)
    view.refresh()
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=TIMEOUT_MS)
    asked: list[str] = []

    def answer(button: QMessageBox.StandardButton):  # type: ignore[no-untyped-def]
        def question(parent, title, text, *args):  # type: ignore[no-untyped-def]
            asked.append(text)
            return button

        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Cancel))
    view.remove_selected()
    assert asked and asked[0].startswith(f"Remove gpu ({llama_cpp_server.url}) and its API key?")
    assert view.table.rowCount() == 1 and stored_api_key("gpu") is not None

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(view.remotes_changed, timeout=TIMEOUT_MS):
        qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.table.rowCount() == 0, timeout=TIMEOUT_MS)
    assert view.notice.message == "Removed gpu and its API key."
    assert stored_api_key("gpu") is None


def test_a_test_that_finds_other_models_offers_them_in_the_pickers(
    qtbot, page: ModelsPage, app: Lantern, llama_cpp_server: LlamaCppServer
) -> None:
    view = page.remote
    app.remotes.add("gpu", llama_cpp_server.url, llama_cpp_server.api_key)
    move_remote("gpu", llama_cpp_server.url, models=[])  # as if it served none when added
    view.refresh()
    qtbot.waitUntil(lambda: cell(view, 0, 2) == ANSWERS, timeout=TIMEOUT_MS)
    assert view.models_list.item(0).text().startswith("The server listed no models")
    with qtbot.waitSignals([view.remotes_changed, page.models_changed], timeout=TIMEOUT_MS):
        qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    assert view.models_list.item(0).text().startswith(f"gpu:{llama_cpp_server.model} — ")

    # Tested again, the same models: nothing for the pickers to read again.
    with qtbot.assertNotEmitted(view.remotes_changed):
        qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(view.test_button.isEnabled, timeout=TIMEOUT_MS)


def test_a_remote_that_stops_answering_is_asked_once_however_often_the_tab_is_shown(
    qtbot,
    page: ModelsPage,
    app: Lantern,
    llama_cpp_server: LlamaCppServer,
    silent_server: SilentServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = page.remote
    monkeypatch.setattr(remotes_module, "STATUS_TIMEOUT_S", TIMEOUT_MS / 1000)  # of 5 s
    app.remotes.add("gpu", llama_cpp_server.url, llama_cpp_server.api_key)
    move_remote("gpu", silent_server.url)
    app.remotes.close()  # the connection to the old address goes

    def show_the_tab_again() -> None:
        listed = view.remotes
        page.tabs.setCurrentWidget(page.installed)
        page.tabs.setCurrentWidget(view)
        qtbot.waitUntil(lambda: view.remotes is not listed, timeout=TIMEOUT_MS)  # file read

    show_the_tab_again()
    qtbot.waitUntil(lambda: len(silent_server.connections) == 1, timeout=TIMEOUT_MS)
    for _ in range(3):  # each read of the file needs a free thread of the window's
        show_the_tab_again()
    read: list[int] = []
    page._tasks.run(lambda: len(app.remotes.list()), read.append, pytest.fail)
    qtbot.waitUntil(lambda: read == [1], timeout=TIMEOUT_MS)
    assert len(silent_server.connections) == 1
    assert cell(view, 0, 2) != ANSWERS

    silent_server.hang_up()  # its answer: none; the check that was asked for meanwhile follows
    qtbot.waitUntil(lambda: cell(view, 0, 2) == NO_ANSWER, timeout=TIMEOUT_MS)


def test_the_add_dialog_cannot_be_cancelled_mid_test_and_forgets_the_key_once_closed(
    qtbot, page: ModelsPage, silent_server: SilentServer
) -> None:
    view = page.remote
    dialog = add_through_the_dialog(qtbot, view, silent_server.url, "sk-secret")
    qtbot.waitUntil(lambda: len(silent_server.connections) == 1, timeout=TIMEOUT_MS)
    cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    assert not cancel.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible()  # the test goes on: the remote is added if it passes

    silent_server.hang_up()
    qtbot.waitUntil(lambda: dialog.notice.is_error, timeout=TIMEOUT_MS)
    assert cancel.isEnabled() and dialog.key_field.text() == "sk-secret"
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and dialog.key_field.text() == ""


def test_a_key_the_server_no_longer_takes_is_said_in_the_list(
    qtbot, page: ModelsPage, app: Lantern, llama_cpp_server: LlamaCppServer
) -> None:
    view = page.remote
    app.remotes.add("gpu", llama_cpp_server.url, llama_cpp_server.api_key)
    save_api_key("gpu", "an-old-key")  # the server's key was changed since
    view.refresh()
    qtbot.waitUntil(lambda: cell(view, 0, 2) == "Key refused", timeout=TIMEOUT_MS)
    tooltip = view.table.item(0, 2).toolTip()
    assert tooltip.startswith("The server gpu refused the API key (HTTP 401")
