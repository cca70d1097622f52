"""The Server page with real parts: the real window and widgets (offscreen), the real API
server on 127.0.0.1 over a whole Lantern with the starter model, its key in a keyring in a
file of the test's, and the official `openai` client. Started and stopped from the page, its
key shown, copied and regenerated, its log filled live; the window's chat and the API at
once; closing the window stops it; it starts with the app when asked. No test waits on the
clock: each waits for a state the page shows."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import redirect_stdout
from functools import partial
from pathlib import Path

import openai
import pytest
from page_harness import page_on_its_own
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox
from test_main_window import open_window, running_qthreads

from desktop.models.installed import InstalledModel
from desktop.services.app import Lantern
from desktop.services.request_log import RequestLogEntry
from desktop.ui.main_window import CHAT_PAGE, SERVER_PAGE, MainWindow
from desktop.ui.server.address_box import NETWORK_WARNING
from desktop.ui.server.page import ServerPage
from desktop.ui.server.request_table import (
    ENDPOINT,
    MAX_ROWS,
    MODEL,
    STATUS,
    TOKENS,
    RequestRows,
)

pytestmark = pytest.mark.gui

TIMEOUT_MS = 120_000  # a loaded 2-core machine: the engine started first
CLIENT_TIMEOUT_S = 240
API_MAX_TOKENS = 48  # the server's ceiling: answers stay quick


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
    except ConnectionRefusedError:
        return True
    return False


def api_server_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "api-server"]


@pytest.fixture
def served_lantern(short_answers: None, lantern: Lantern, file_keyring: Path) -> Lantern:
    """The whole Lantern, its server set to a free port and short answers; a real keyring."""
    lantern.change_settings(server_port=free_port(), server_max_tokens=API_MAX_TOKENS)
    return lantern


def open_server_page(qtbot, lantern: Lantern) -> MainWindow:
    window = open_window(qtbot, lantern)
    window.show_page(SERVER_PAGE)
    page = window.server_page
    qtbot.waitUntil(page.switch.button.isEnabled, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: page.key_box.key() is not None, timeout=TIMEOUT_MS)
    return window


@pytest.fixture
def window(qtbot, served_lantern: Lantern) -> Iterator[MainWindow]:
    window = open_server_page(qtbot, served_lantern)
    yield window
    window.close()


def start(qtbot, page: ServerPage) -> str:
    """Start from the page; the address it says it serves on."""
    qtbot.mouseClick(page.switch.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.server.state.phase == "serving", timeout=TIMEOUT_MS)
    line = page.switch.state_line.message
    assert line.startswith("Serving on http://")
    return line.removeprefix("Serving on ")


def shown_key(qtbot, page: ServerPage) -> str:
    if not page.key_box.is_shown():
        qtbot.mouseClick(page.key_box.show_button, Qt.MouseButton.LeftButton)
    return page.key_box.field.text()


def client(address: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{address}/v1", api_key=key, max_retries=0, timeout=CLIENT_TIMEOUT_S
    )


def logged(qtbot, page: ServerPage, rows: int) -> RequestRows:
    table = page.log_view.table
    qtbot.waitUntil(lambda: table.rows.rowCount() >= rows, timeout=TIMEOUT_MS)
    return table.rows


def cell(page: ServerPage, row: int, column: int) -> str:
    return page.log_view.table.cell(row, column)


def test_start_serve_log_and_stop(
    qtbot, window: MainWindow, served_lantern: Lantern, installed_starter: InstalledModel
) -> None:
    page = window.server_page
    port = served_lantern.settings.server_port
    assert page.switch.state_line.message == "Stopped"
    assert page.key_box.field.echoMode() != page.key_box.field.echoMode().Normal  # masked

    address = start(qtbot, page)
    assert address == f"http://127.0.0.1:{port}"
    assert not page.address.isEnabled()  # where it listens is set before it starts
    key = shown_key(qtbot, page)
    assert key.startswith("lt-")
    qtbot.mouseClick(page.key_box.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == key

    # The page's own Python code, run as the user would: the openai client, the key shown.
    code = page.snippets.code("Python")
    assert f"api_key={key!r}" in code and f"{address}/v1" in code
    assert f"model={installed_starter.id!r}" in code
    out = io.StringIO()
    with redirect_stdout(out):
        exec(compile(code, "<copied code>", "exec"), {"__name__": "__main__"})
    assert out.getvalue().strip()  # the model's answer

    rows = logged(qtbot, page, 1)
    assert cell(page, 0, ENDPOINT) == "POST /v1/chat/completions"
    assert cell(page, 0, MODEL) == installed_starter.id
    assert cell(page, 0, STATUS) == "200"
    prompt, completion = (int(n) for n in cell(page, 0, TOKENS).split(" + "))
    assert prompt > 0 and 0 < completion <= API_MAX_TOKENS
    page.log_view.table.selectRow(0)
    assert "not kept" in page.log_view.details.toPlainText()  # contents are off by default
    assert rows.entry(0).request_text is None

    qtbot.mouseClick(page.switch.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.server.state.phase == "stopped", timeout=TIMEOUT_MS)
    assert page.switch.state_line.message == "Stopped"
    assert page.address.isEnabled()
    assert refuses(port)
    assert api_server_threads() == []


def test_regenerate_retires_the_old_key(qtbot, window: MainWindow, monkeypatch) -> None:
    page = window.server_page
    address = start(qtbot, page)
    old = shown_key(qtbot, page)
    asked: list[str] = []

    def question(parent, title, text, *args):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    qtbot.mouseClick(page.key_box.regenerate_button, Qt.MouseButton.LeftButton)
    assert "stop working" in asked[0]
    qtbot.waitUntil(lambda: page.key_box.field.text() != old, timeout=TIMEOUT_MS)
    new = page.key_box.field.text()
    assert new.startswith("lt-") and f"api_key={new!r}" in page.snippets.code("Python")

    with pytest.raises(openai.AuthenticationError):
        client(address, old).models.list()
    assert [m.id for m in client(address, new).models.list().data]
    logged(qtbot, page, 2)
    assert [cell(page, row, STATUS) for row in (1, 0)] == ["401", "200"]


def test_a_wrong_key_shows_a_401_row(qtbot, window: MainWindow) -> None:
    page = window.server_page
    address = start(qtbot, page)
    with pytest.raises(openai.AuthenticationError):
        client(address, "lt-wrong").models.list()
    logged(qtbot, page, 1)
    assert cell(page, 0, STATUS) == "401"
    assert cell(page, 0, ENDPOINT) == "GET /v1/models"
    page.log_view.table.selectRow(0)
    assert "Error: " in page.log_view.details.toPlainText()


def test_request_contents_are_kept_only_when_asked(
    qtbot, window: MainWindow, served_lantern: Lantern, installed_starter: InstalledModel
) -> None:
    page = window.server_page
    address = start(qtbot, page)
    api = client(address, shown_key(qtbot, page))
    page.log_view.keep_contents.click()
    qtbot.waitUntil(lambda: served_lantern.settings.server_log_contents, timeout=TIMEOUT_MS)
    answer = api.chat.completions.create(
        model=installed_starter.id, messages=[{"role": "user", "content": "Say hello."}]
    )
    logged(qtbot, page, 1)
    page.log_view.table.selectRow(0)
    details = page.log_view.details.toPlainText()
    request = details.split("Request:\n")[1].split("\n\nAnswer:")[0]
    assert json.loads(request)["messages"] == [{"role": "user", "content": "Say hello."}]
    assert f"Answer:\n{answer.choices[0].message.content}" in details

    page.log_view.keep_contents.click()
    qtbot.waitUntil(lambda: not served_lantern.settings.server_log_contents, timeout=TIMEOUT_MS)
    api.models.list()
    logged(qtbot, page, 2)
    assert page.log_view.table.rows.entry(0).request_text is None


def test_allowing_the_network_warns_and_listens_on_every_address(
    qtbot, window: MainWindow, served_lantern: Lantern
) -> None:
    page = window.server_page
    assert not page.address.warning.isVisible()
    page.address.network.click()
    assert page.address.warning.isVisible() and page.address.warning.message == NETWORK_WARNING
    assert "anyone" in NETWORK_WARNING
    qtbot.waitUntil(lambda: served_lantern.settings.server_host == "0.0.0.0", timeout=TIMEOUT_MS)
    start(qtbot, page)
    assert page.server.state.on_network
    assert "other computers on your network" in page.switch.state_line.message
    qtbot.mouseClick(page.switch.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.server.state.phase == "stopped", timeout=TIMEOUT_MS)
    page.address.network.click()
    assert not page.address.warning.isVisible()
    qtbot.waitUntil(lambda: served_lantern.settings.server_host == "127.0.0.1", timeout=TIMEOUT_MS)


def test_a_wildcard_origin_is_refused_with_the_reason(qtbot, served_lantern: Lantern) -> None:
    with page_on_its_own(qtbot, partial(ServerPage, served_lantern)) as page:
        qtbot.waitUntil(page.switch.button.isEnabled, timeout=TIMEOUT_MS)
        origins = page.origins
        origins.entry.setText("*")
        qtbot.mouseClick(origins.add_button, Qt.MouseButton.LeftButton)
        assert origins.origins() == ()
        assert origins.notice.is_error and "every web page" in origins.notice.message
        origins.entry.setText("HTTP://LocalHost:3000/")
        qtbot.keyClick(origins.entry, Qt.Key.Key_Return)
        assert origins.origins() == ("http://localhost:3000",)
        assert not origins.notice.isVisible()
        qtbot.waitUntil(
            lambda: served_lantern.settings.server_cors_origins == ("http://localhost:3000",),
            timeout=TIMEOUT_MS,
        )


def test_a_port_in_use_is_said_in_words(qtbot, served_lantern: Lantern) -> None:
    make = partial(ServerPage, served_lantern)
    with socket.socket() as taken, page_on_its_own(qtbot, make) as page:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        qtbot.waitUntil(page.switch.button.isEnabled, timeout=TIMEOUT_MS)
        page.address.port.setValue(port)
        qtbot.mouseClick(page.switch.button, Qt.MouseButton.LeftButton)
        line = page.switch.state_line
        qtbot.waitUntil(lambda: line.is_error, timeout=TIMEOUT_MS)
        assert f"Port {port}" in line.message and "in use by another program" in line.message
        assert "Traceback" not in line.message
        assert page.switch.button.text() == "Start" and page.address.isEnabled()


def test_without_a_keyring_the_page_says_how_to_fix_it(
    qtbot, lantern: Lantern, installed_starter: InstalledModel
) -> None:
    """The tests' default keyring keeps nothing, as a system without one."""
    with page_on_its_own(qtbot, partial(ServerPage, lantern)) as page:
        notice = page.key_box.notice
        qtbot.waitUntil(lambda: notice.is_error, timeout=TIMEOUT_MS)
        assert "keyring" in notice.message and "GNOME Keyring" in notice.message
        assert not page.key_box.copy_button.isEnabled()
        qtbot.mouseClick(page.switch.button, Qt.MouseButton.LeftButton)
        line = page.switch.state_line
        qtbot.waitUntil(lambda: line.is_error, timeout=TIMEOUT_MS)
        assert "keyring" in line.message and page.server.state.phase == "stopped"


def test_the_window_chats_while_the_server_streams(
    qtbot, window: MainWindow, served_lantern: Lantern, installed_starter: InstalledModel
) -> None:
    page = window.server_page
    address = start(qtbot, page)
    key = shown_key(qtbot, page)
    first_piece = threading.Event()
    pieces: list[str] = []
    failures: list[BaseException] = []

    def stream() -> None:
        try:
            chunks = client(address, key).chat.completions.create(
                model=installed_starter.id,
                messages=[{"role": "user", "content": "Count from one to fifty in words."}],
                stream=True,
            )
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                    first_piece.set()
        except BaseException as exc:
            failures.append(exc)
            first_piece.set()

    api = threading.Thread(target=stream, name="api-client")
    api.start()
    qtbot.waitUntil(first_piece.is_set, timeout=TIMEOUT_MS)

    window.show_page(CHAT_PAGE)
    chat = window.chat_page
    chat.input.setPlainText("Say hello.")
    qtbot.mouseClick(chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "tok/s" in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not api.is_alive(), timeout=TIMEOUT_MS)
    assert failures == [] and "".join(pieces).strip()
    (conversation,) = served_lantern.chat.list_conversations()
    answer = served_lantern.chat.conversation(conversation.id)[1][-1]
    assert answer.status == "complete" and answer.content.strip()
    logged(qtbot, page, 1)
    assert cell(page, 0, STATUS) == "200" and cell(page, 0, MODEL) == installed_starter.id


def test_closing_the_window_stops_the_server_and_its_threads(
    qtbot, served_lantern: Lantern, installed_starter: InstalledModel
) -> None:
    window = open_server_page(qtbot, served_lantern)
    page = window.server_page
    address = start(qtbot, page)
    key = shown_key(qtbot, page)
    first_piece = threading.Event()

    def stream() -> None:  # an answer being streamed as the window closes
        try:
            for _chunk in client(address, key).completions.create(
                model=installed_starter.id, prompt="Once upon a time", stream=True
            ):
                first_piece.set()
        except openai.APIError:
            pass  # cut off by the closing server
        finally:
            first_piece.set()

    api = threading.Thread(target=stream, name="api-client")
    api.start()
    qtbot.waitUntil(first_piece.is_set, timeout=TIMEOUT_MS)
    window.close()
    assert api_server_threads() == []
    assert refuses(served_lantern.settings.server_port)
    assert running_qthreads(window) == []
    qtbot.waitUntil(lambda: not api.is_alive(), timeout=TIMEOUT_MS)


def test_the_server_starts_with_the_app_when_asked(qtbot, served_lantern: Lantern) -> None:
    first = open_server_page(qtbot, served_lantern)
    assert first.server_page.server.state.phase == "stopped"
    first.server_page.start_with_app.click()
    qtbot.waitUntil(lambda: served_lantern.settings.server_start_with_app, timeout=TIMEOUT_MS)
    first.close()

    second = open_window(qtbot, served_lantern)
    page = second.server_page
    qtbot.waitUntil(lambda: page.server.state.phase == "serving", timeout=TIMEOUT_MS)
    assert page.start_with_app.isChecked()
    port = served_lantern.settings.server_port
    assert page.switch.state_line.message == f"Serving on http://127.0.0.1:{port}"
    second.close()
    assert refuses(port)


def test_the_log_table_keeps_the_newest_rows_first_and_at_most_its_bound(qtbot) -> None:
    from datetime import datetime

    rows = RequestRows()
    entries = [
        RequestLogEntry(datetime.now(), f"127.0.0.1:{n}", "GET", "/v1/models", 200, 0.01)
        for n in range(MAX_ROWS + 120)
    ]
    rows.add(entries[:100])
    rows.add(entries[100:])  # one burst, inserted at once
    assert rows.rowCount() == MAX_ROWS
    assert rows.entry(0) is entries[-1] and rows.entry(MAX_ROWS - 1) is entries[120]
