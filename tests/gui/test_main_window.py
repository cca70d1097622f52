"""The main window with real parts: the starter model, the engine process, the store."""

from __future__ import annotations

import gc
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_processes import engine_pid_of
from PySide6.QtCore import Qt, QThread, QThreadPool
from PySide6.QtWidgets import QWidget

from desktop.engine.protocol import Sampling
from desktop.paths import app_paths
from desktop.services import app as app_parts
from desktop.services.app import Lantern
from desktop.services.chat import ChatService
from desktop.services.playground_parameters import PlaygroundParameters
from desktop.settings import Settings, save_settings
from desktop.ui import heap
from desktop.ui.chat.message_widget import MessageWidget
from desktop.ui.chat.view import ChatView
from desktop.ui.main_window import (
    CHAT_PAGE,
    PLAYGROUND_PAGE,
    SUMMARIZE_PAGE,
    TRANSLATE_PAGE,
    MainWindow,
)
from desktop.ui.models.formatting import stats_line

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000
LONG_MAX_TOKENS = 2048


def running_qthreads(window: MainWindow) -> list[QThread]:
    """The window's threads still running (its chat turns are its children)."""
    return [thread for thread in window.findChildren(QThread) if thread.isRunning()]


class TextLog:
    """Every length a message had after an append, to tell a streamed answer from one written
    at once."""

    def __init__(self, monkeypatch) -> None:
        self.lengths: list[int] = []
        append = MessageWidget.append_text

        def logged(widget: MessageWidget, piece: str) -> None:
            append(widget, piece)
            self.lengths.append(len(widget.text()))

        monkeypatch.setattr(MessageWidget, "append_text", logged)


@pytest.fixture
def long_answers(lantern_home: Path) -> None:
    """Room for a long answer, so that Stop always lands mid-answer."""
    save_settings(app_paths().settings_file, Settings(max_tokens=LONG_MAX_TOKENS))


def open_window(qtbot, lantern: Lantern) -> MainWindow:
    window = MainWindow(lantern)
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.fixture
def window(qtbot, lantern: Lantern) -> Iterator[MainWindow]:
    window = open_window(qtbot, lantern)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    yield window
    window.close()  # before the `lantern` fixture closes the engine and the store


def send(qtbot, window: MainWindow, text: str) -> None:
    window.chat_page.input.setPlainText(text)
    qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    assert window.chat_page.stop_button.isEnabled()


def answer_streaming(window: MainWindow, at_least: int = 20) -> bool:
    # The last message is the answer, and some of it is on screen.
    widgets = window.chat_page.view.widgets()
    return (
        len(widgets) >= 2
        and widgets[-1].record().role == "assistant"
        and len(widgets[-1].text()) >= at_least
    )


def test_enter_sends_and_shift_enter_starts_a_new_line(qtbot, window, lantern):
    qtbot.keyClicks(window.chat_page.input, "First line")
    qtbot.keyClick(window.chat_page.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(window.chat_page.input, "second line")
    assert window.chat_page.input.toPlainText() == "First line\nsecond line"
    assert not window.chat_page.stop_button.isEnabled()
    qtbot.keyClick(window.chat_page.input, Qt.Key.Key_Return)
    assert window.chat_page.stop_button.isEnabled()
    qtbot.waitUntil(lambda: "tok/s" in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)
    (conversation,) = lantern.chat.list_conversations()
    user = lantern.chat.conversation(conversation.id)[1][0]
    assert user.content == "First line\nsecond line"


def test_sent_message_streams_an_answer_and_lists_the_conversation(
    qtbot, window, lantern, monkeypatch
):
    log = TextLog(monkeypatch)
    send(qtbot, window, "Write three sentences about the sea.")
    qtbot.waitUntil(lambda: "tok/s" in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)

    conversations = lantern.chat.list_conversations()
    assert len(conversations) == 1
    _, messages = lantern.chat.conversation(conversations[0].id)
    user, answer = messages
    assert user.content == "Write three sentences about the sea."
    assert answer.status == "complete" and answer.content.strip()
    shown = window.chat_page.view.toPlainText()
    assert shown.startswith(f"You\nWrite three sentences about the sea.\n{answer.model_id}\n")
    assert shown.endswith(answer.content)
    assert [w.record().id for w in window.chat_page.view.widgets()] == [user.id, answer.id]
    # The answer arrived in more than one update, each appended to what was there.
    answer_updates = log.lengths
    assert len(answer_updates) >= 2, log.lengths
    assert answer_updates == sorted(answer_updates)
    assert stats_line(answer.stats) in window.statusBar().currentMessage()
    assert window.chat_page.input.toPlainText() == ""
    used = answer.stats["prompt_tokens"] + answer.stats["generated_tokens"]
    assert window.chat_page.context_meter.text() == f"Context: {used:,} / 4,096 tokens"
    assert window.chat_page.context_meter.value() == used

    # The new conversation is listed, selected, after the answer.
    qtbot.waitUntil(
        lambda: window.chat_page.sidebar.titles() == [conversations[0].title], timeout=TIMEOUT_MS
    )
    assert window.chat_page.sidebar.selected_conversation_id() == conversations[0].id
    qtbot.waitUntil(
        window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS
    )  # the thread has ended
    assert not window.chat_page.stop_button.isEnabled()
    window.new_chat()
    assert window.chat_page.context_meter.text() == "Context: empty"


def test_stop_ends_the_answer_early_and_keeps_it(qtbot, long_answers, lantern):
    window = open_window(qtbot, lantern)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    send(qtbot, window, "Write a very long story about a dragon and a knight, in many chapters.")
    assert not window.chat_page.send_button.isEnabled()
    qtbot.waitUntil(lambda: answer_streaming(window), timeout=TIMEOUT_MS)

    qtbot.mouseClick(window.chat_page.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)

    assert not window.chat_page.stop_button.isEnabled()
    assert window.chat_page.view.toPlainText().endswith("Stopped")
    assert "Stopped" in window.statusBar().currentMessage()
    conversation = lantern.chat.list_conversations()[0]
    _, messages = lantern.chat.conversation(conversation.id)
    answer = messages[-1]
    assert answer.status == "stopped"
    assert answer.content.strip()
    assert answer.stats["generated_tokens"] < LONG_MAX_TOKENS

    # Reopened from the list, the stored answer carries the same mark.
    qtbot.mouseClick(window.chat_page.sidebar.new_chat_button, Qt.MouseButton.LeftButton)
    assert window.chat_page.view.toPlainText() == ""
    qtbot.waitUntil(
        lambda: window.chat_page.sidebar.titles() == [conversation.title], timeout=TIMEOUT_MS
    )
    sidebar = window.chat_page.sidebar
    sidebar.conversation_list.setCurrentItem(sidebar.conversation_item(conversation.id))
    qtbot.waitUntil(
        lambda: window.chat_page.view.toPlainText().endswith("Stopped"), timeout=TIMEOUT_MS
    )
    assert window.chat_page.view.toPlainText().startswith("You\nWrite a very long story")
    window.close()


def test_without_a_model_the_window_says_how_to_get_one(qtbot, lantern_home, starter_model_path):
    lantern = Lantern()
    try:
        window = open_window(qtbot, lantern)
        qtbot.waitUntil(
            lambda: window.chat_page.body.currentWidget() is window.chat_page.empty_state
        )
        text = window.chat_page.empty_state.text()
        assert "No model installed" in text
        assert "Download one from the catalog" in text
        assert not window.chat_page.send_button.isEnabled()
        assert not window.chat_page.stop_button.isEnabled()
        window.chat_page.input.setPlainText("hello")
        qtbot.keyClick(window.chat_page.input, Qt.Key.Key_Return)
        assert not window.chat_page.stop_button.isEnabled()

        # "Get a model" opens the Models page; a model added meanwhile (here as the CLI would
        # add it) is found when the user comes back to Chat.
        qtbot.mouseClick(window.chat_page.empty_state.button, Qt.MouseButton.LeftButton)
        assert window.sections.currentWidget() is window.models_page
        lantern.models.import_file(starter_model_path)
        qtbot.mouseClick(window.chat_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
        assert window.chat_page.body.currentWidget() is window.chat_page.view
        assert window.chat_page.model_picker.currentData() == "SmolLM2-135M-Instruct.Q4_1"
        window.close()
    finally:
        lantern.close()


def test_closing_during_an_answer_leaves_no_thread_running(qtbot, long_answers, lantern):
    window = open_window(qtbot, lantern)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    send(qtbot, window, "Tell me a long story about a lighthouse keeper.")
    qtbot.waitUntil(lambda: answer_streaming(window), timeout=TIMEOUT_MS)
    turn_threads = running_qthreads(window)
    assert len(turn_threads) == 1  # held here, so it can still be asked after the window lets go

    window.close()

    assert turn_threads[0].isFinished()
    assert running_qthreads(window) == []
    # The window's reads ran on its own pool; closing waits for them too.
    pool = window.findChild(QThreadPool)
    assert pool is not None and pool.activeThreadCount() == 0
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    answer = lantern.chat.conversation(lantern.chat.list_conversations()[0].id)[1][-1]
    assert answer.status == "stopped" and answer.content.strip()


def test_an_engine_crash_marks_the_answer_interrupted(qtbot, long_answers, lantern):
    window = open_window(qtbot, lantern)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    send(qtbot, window, "Write a very long story about a dragon and a knight, in many chapters.")
    qtbot.waitUntil(lambda: answer_streaming(window), timeout=TIMEOUT_MS)

    os.kill(engine_pid_of(lantern, "chat"), signal.SIGKILL)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)

    assert window.chat_page.view.toPlainText().endswith("Interrupted by a crash")
    assert "engine stopped unexpectedly" in window.statusBar().currentMessage()
    answer = lantern.chat.conversation(lantern.chat.list_conversations()[0].id)[1][-1]
    assert answer.status == "interrupted" and answer.content.strip()
    window.close()


def test_a_turn_that_ends_while_another_page_is_shown_speaks_on_the_chat_page(
    qtbot, long_answers, lantern
):
    """The turn's lines (answering, its failure) belong to the Chat page: another page's
    status bar stays its own, and the Chat page tells what happened on return."""
    window = open_window(qtbot, lantern)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    send(qtbot, window, "Write a very long story about a dragon and a knight, in many chapters.")
    qtbot.waitUntil(lambda: answer_streaming(window), timeout=TIMEOUT_MS)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == ""

    os.kill(engine_pid_of(lantern, "chat"), signal.SIGKILL)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    assert window.statusBar().currentMessage() == ""  # still the Models page's own
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert "engine stopped unexpectedly" in window.statusBar().currentMessage()
    window.close()


def test_chat_view_coalesces_a_burst_into_one_update(qtbot, monkeypatch):
    parent = QWidget()
    qtbot.addWidget(parent)
    view = ChatView(parent)
    view.begin_answer()
    log = TextLog(monkeypatch)
    for _ in range(200):
        view.append_answer("word ")
    assert log.lengths == []  # nothing drawn yet: the pieces wait for the next frame
    qtbot.waitUntil(lambda: view.widgets()[-1].text() == "word " * 200)
    assert len(log.lengths) == 1


def test_stats_line_reads_like_the_cli():
    line = stats_line(
        {
            "generated_tokens": 42,
            "generation_tokens_per_s": 95.31,
            "time_to_first_token_s": 0.151,
            "prompt_tokens": 38,
            "cached_prompt_tokens": 0,
        }
    )
    assert line == "42 tokens · 95.3 tok/s · first token 0.15 s · prompt 38 tokens"


def test_the_writing_pages_are_in_the_rail_and_list_the_models(qtbot, window):
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    model_id = window.chat_page.model_picker.currentData()
    pickers = {
        SUMMARIZE_PAGE: window.summarize_page.options_bar.model_picker,
        TRANSLATE_PAGE: window.translate_page.model_picker,
        PLAYGROUND_PAGE: window.playground_page.lanes[0].model_picker,
    }
    keys = (
        (Qt.Key.Key_3, SUMMARIZE_PAGE),
        (Qt.Key.Key_4, TRANSLATE_PAGE),
        (Qt.Key.Key_5, PLAYGROUND_PAGE),
    )
    for key, page in keys:
        qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)
        assert window.sections.currentIndex() == page
        assert window.summarize_button.isChecked() == (page == SUMMARIZE_PAGE)
        assert window.translate_button.isChecked() == (page == TRANSLATE_PAGE)
        assert window.playground_button.isChecked() == (page == PLAYGROUND_PAGE)
        assert pickers[page].currentData() == model_id
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.sections.currentIndex() == CHAT_PAGE


def test_escape_in_the_message_box_stops_the_answer(qtbot, long_answers, lantern):
    window = open_window(qtbot, lantern)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    send(qtbot, window, "Write a very long story about a dragon and a knight, in many chapters.")
    qtbot.waitUntil(lambda: answer_streaming(window), timeout=TIMEOUT_MS)
    window.activateWindow()
    window.chat_page.input.setFocus()
    qtbot.waitUntil(window.chat_page.input.hasFocus)
    qtbot.keyClick(window.chat_page.input, Qt.Key.Key_Escape)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    assert window.chat_page.view.toPlainText().endswith("Stopped")


def test_the_status_bar_shows_the_figures_of_the_page_shown(qtbot, window):
    """The chat's figures on the Chat page, the Playground's own on the Playground (none
    before a run has ended there), each again when the user comes back to its page."""
    send(qtbot, window, "Say hello.")
    qtbot.waitUntil(lambda: "tok/s" in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    chat_figures = window.statusBar().currentMessage()

    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    assert window.sections.currentIndex() == PLAYGROUND_PAGE
    assert window.statusBar().currentMessage() == ""  # not the chat's figures
    page = window.playground_page
    page.editor.prompt_box.setPlainText("The three primary colours are")
    sampling = Sampling(max_tokens=5, temperature=0.0, seed=7)
    page.parameters[0].set_parameters(PlaygroundParameters(sampling))
    with qtbot.waitSignal(page.runs_ended, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    figures = window.statusBar().currentMessage()
    assert "tok/s" in figures and "seed 7" in figures
    assert figures in page.lanes[0].status_label.text()  # what the run's side says too

    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == chat_figures
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == ""  # the Models page has no figures
    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == figures


def test_the_gui_thread_never_builds_the_chat_service(qtbot, short_answers, lantern, monkeypatch):
    """The chat service is built on first use, under the lock a worker building another part
    (the engine, the models) may hold for seconds: the GUI thread must not wait there."""
    built_on: list[threading.Thread] = []

    class WatchedChatService(ChatService):
        def __init__(self, *args, **kwargs) -> None:
            built_on.append(threading.current_thread())
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(app_parts, "ChatService", WatchedChatService)
    window = open_window(qtbot, lantern)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    send(qtbot, window, "Say hello.")
    qtbot.waitUntil(lambda: "tok/s" in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)
    assert len(built_on) == 1 and built_on[0] is not threading.main_thread()
    window.close()


@pytest.fixture
def unfrozen_heap(monkeypatch) -> Iterator[None]:
    """A process whose app has not started yet: an earlier test's window froze the heap."""
    gc.unfreeze()
    monkeypatch.setattr(heap, "_frozen", False)
    yield
    gc.unfreeze()


def test_once_started_the_window_is_left_out_of_full_collections(qtbot, unfrozen_heap, lantern):
    # A full collection holds the interpreter lock for as long as it walks the heap, on
    # whichever thread set it off; the started app's objects are frozen out of it (ui/heap.py).
    window = open_window(qtbot, lantern)
    assert id(window) in {id(item) for item in gc.get_objects()}
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    assert gc.get_freeze_count() > 0
    walked = {id(item) for item in gc.get_objects()}
    assert id(window.chat_page) not in walked
    assert id(window) not in walked
    window.close()
