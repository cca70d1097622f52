"""Rule 6, as the user sees it: Lantern is killed with SIGKILL while an answer streams; the next
start shows the conversation with the question and the partial answer marked interrupted, and
Continue carries the answer on from where it stopped. The killed app is a real one (its own
process, window and engine, on the starter model)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop.paths import app_paths
from desktop.services.app import Lantern
from desktop.settings import Settings, save_settings
from desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000
QUESTION = "Tell me a long story about a lighthouse keeper and a storm."

# The app, started as a user would, sending QUESTION once a model is ready, and saying
# STREAMING and what its window shows once that is a good part of the answer.
APP = textwrap.dedent(
    f"""
    import json

    from PySide6.QtCore import QTimer

    from desktop.services.app import Lantern
    from desktop.ui.app import gui_application
    from desktop.ui.main_window import MainWindow

    def main():
        app = gui_application()
        window = MainWindow(Lantern())
        window.show()
        state = {{"sent": False}}

        def step():
            if not state["sent"] and window.chat_page.send_button.isEnabled():
                window.chat_page.input.setPlainText({QUESTION!r})
                window.chat_page.send()
                state["sent"] = True
            widgets = window.chat_page.view.widgets()
            if state["sent"] and len(widgets) == 2 and len(widgets[-1].text()) > 80:
                print("STREAMING", json.dumps(widgets[-1].text()), flush=True)
                return
            QTimer.singleShot(50, step)

        step()
        app.exec()

    if __name__ == "__main__":
        main()
    """
)


def wait_for_stored_answer(database: Path, timeout_s: float = 60) -> None:
    """Until the answer being written has some text in the store (read-only, as the app
    writes on)."""
    deadline = time.monotonic() + timeout_s
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
        while time.monotonic() < deadline:
            query = "SELECT max(length(content)) FROM messages WHERE role = 'assistant'"
            (stored,) = db.execute(query).fetchone()
            if stored:
                return
            time.sleep(0.05)
    raise AssertionError("the answer never reached the store")


@pytest.fixture
def killed_mid_answer(installed_starter, lantern_home: Path, tmp_path: Path) -> Iterator[str]:
    """Runs the app until it streams, then kills it and its engine with SIGKILL; gives what
    its window showed of the answer."""
    save_settings(app_paths().settings_file, Settings(max_tokens=2048))
    script = tmp_path / "lantern_app.py"
    script.write_text(APP, encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    app = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own group: the engine process dies with it
    )
    try:
        assert app.stdout is not None
        said, shown = app.stdout.readline().split(" ", 1)
        assert said == "STREAMING"
        # The answer is flushed to the store every half second: kill once some of it is
        # there (killed sooner, the lost half second is all the answer there was).
        wait_for_stored_answer(app_paths().database)
        os.killpg(app.pid, signal.SIGKILL)
        app.wait(timeout=30)
        assert app.returncode == -signal.SIGKILL
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait()
        if app.stdout is not None:
            app.stdout.close()
    save_settings(app_paths().settings_file, Settings(max_tokens=24))  # a short Continue
    yield json.loads(shown)


def test_a_killed_app_reopens_with_the_answer_interrupted_and_continue_resumes_it(
    qtbot, killed_mid_answer: str
) -> None:
    shown = killed_mid_answer
    lantern = Lantern()
    window = MainWindow(lantern)
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitUntil(lambda: len(window.chat_page.sidebar.titles()) == 1, timeout=TIMEOUT_MS)
        item = window.chat_page.sidebar.conversation_list.item(1)  # under its date heading
        rect = window.chat_page.sidebar.conversation_list.visualItemRect(item)
        qtbot.mouseClick(
            window.chat_page.sidebar.conversation_list.viewport(),
            Qt.MouseButton.LeftButton,
            pos=rect.center(),
        )
        qtbot.waitUntil(lambda: len(window.chat_page.view.widgets()) == 2, timeout=TIMEOUT_MS)
        question, answer = window.chat_page.view.widgets()
        assert question.text() == QUESTION
        partial = answer.record()
        assert partial.status == "interrupted"
        # Kept as far as the last flush before the kill (the window was a little ahead, or
        # behind, when it said what it showed).
        assert partial.content.strip() and answer.text() == partial.content
        assert shown.startswith(partial.content) or partial.content.startswith(shown)
        assert answer.status_label.isVisible()
        assert answer.status_label.text().startswith("Interrupted")
        qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
        assert answer.continue_button.isVisible() and answer.continue_button.isEnabled()

        qtbot.mouseClick(answer.continue_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: not window.chat_page.answering() and answer.record().status != "interrupted",
            timeout=TIMEOUT_MS,
        )
        resumed = lantern.chat.messages.get(partial.id)
        assert resumed.status in ("complete", "stopped")
        assert resumed.content.startswith(partial.content)
        assert len(resumed.content) > len(partial.content)
        assert answer.text() == resumed.content
        assert not answer.continue_button.isVisible() or resumed.status == "stopped"
    finally:
        window.close()
        lantern.close()
