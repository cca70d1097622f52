"""Remote models in the window, against llama-cpp-python's own server (and, for a server that
can do nothing beyond chat, the stand-in) on 127.0.0.1: a remote added on the Remote tab is
offered in the chat and answers there; Use for chat from the Remote tab; the Playground greys
out what a server cannot do, with the reason, never sends it, and gives it back for a local
model; token counts a server cannot make are shown as estimates."""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from llama_cpp_server import LlamaCppServer
from page_harness import page_on_its_own
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from remote_stand_in import API_KEY, StandIn
from test_main_window import TextLog, open_window, send

from desktop.engine.protocol import OutputConstraint, Sampling
from desktop.engine.text_model import Capabilities
from desktop.services.app import Lantern
from desktop.services.playground_parameters import PlaygroundParameters
from desktop.tasks.documents import SourceText
from desktop.ui.main_window import CHAT_PAGE, MODELS_PAGE, MainWindow
from desktop.ui.models.remote_view import ANSWERS, STATUS, RemoteView
from desktop.ui.playground.lane_view import CODE_HINT
from desktop.ui.playground.page import PlaygroundPage
from desktop.ui.playground.parameters_panel import HELP
from desktop.ui.playground.prompt_editor import PREVIEW_HINT, RAW_HINT
from desktop.ui.summarize.page import SummarizePage

pytestmark = pytest.mark.gui

TIMEOUT_MS = 120_000
PROMPT = "The three primary colours are"
TEXT = (
    "The town council met on Monday to discuss the new library. Members agreed to open it "
    "in May, and to keep it open on Sundays. The budget is two million euros."
)
GRAMMAR = OutputConstraint("grammar", 'root ::= "yes" | "no"')


@pytest.fixture
def keyring_lantern(short_answers: None, lantern: Lantern, file_keyring: Path) -> Lantern:
    """The Lantern with the starter installed, short answers (quick on a loaded machine),
    and a keyring for the remotes' keys."""
    return lantern


@pytest.fixture
def gpu(keyring_lantern: Lantern, llama_cpp_server: LlamaCppServer) -> str:
    """llama-cpp-python's server added as the remote 'gpu': its model's id."""
    keyring_lantern.remotes.add("gpu", llama_cpp_server.url, llama_cpp_server.api_key)
    return f"gpu:{llama_cpp_server.model}"


@pytest.fixture
def plain(keyring_lantern: Lantern, stand_in: StandIn) -> str:
    """The stand-in, which does chat and nothing more, added as 'plain': its model's id."""
    check = keyring_lantern.remotes.add("plain", stand_in.url, API_KEY)
    return f"plain:{check.models[0].id}"


def capabilities(lantern: Lantern, model_id: str) -> Capabilities:
    return next(o.capabilities for o in lantern.models.options() if o.id == model_id)


# ---- the window: the chat, the Remote tab ----


@pytest.fixture
def window(qtbot, keyring_lantern: Lantern) -> Iterator[MainWindow]:
    window = open_window(qtbot, keyring_lantern)
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)
    yield window
    window.close()


def status_of(view: RemoteView) -> str:
    item = view.table.item(0, STATUS)
    return item.text() if item is not None else ""


def test_a_remote_added_on_the_remote_tab_answers_in_the_chat(
    qtbot, window: MainWindow, lantern: Lantern, llama_cpp_server: LlamaCppServer, monkeypatch
) -> None:
    window.show_page(MODELS_PAGE)
    view = window.models_page.remote
    window.models_page.tabs.setCurrentWidget(view)
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.name_field, "gpu")
    qtbot.keyClicks(dialog.url_field, llama_cpp_server.url)
    qtbot.keyClicks(dialog.key_field, llama_cpp_server.api_key)
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    # The tab asks the new remote whether it answers. This server ends an answer it is
    # streaming when another request reaches it (the answer is then kept as cut short).
    qtbot.waitUntil(lambda: status_of(view) == ANSWERS, timeout=TIMEOUT_MS)

    # The window reads the models again: the remote's is offered beside the installed one.
    picker = window.chat_page.model_picker
    remote_id = f"gpu:{llama_cpp_server.model}"
    qtbot.waitUntil(lambda: picker.findData(remote_id) >= 0, timeout=TIMEOUT_MS)
    installed = lantern.models.list()[0]
    assert [picker.itemData(row) for row in range(picker.count())] == [installed.id, remote_id]
    assert picker.itemText(1) == f"{llama_cpp_server.model} · on gpu"
    assert picker.itemText(0).startswith(f"{installed.id} · ")  # as before
    summarize_picker = window.summarize_page.options_bar.model_picker
    assert summarize_picker.findData(remote_id) >= 0
    assert window.translate_page.model_picker.findData(remote_id) >= 0
    assert window.playground_page.lanes[1].model_picker.findData(remote_id) >= 0

    window.show_page(CHAT_PAGE)
    picker.choose(remote_id)
    assert "Runs on the server gpu" in picker.toolTip()
    log = TextLog(monkeypatch)
    send(qtbot, window, "Write three sentences about the sea.")
    qtbot.waitUntil(lambda: "tok/s" in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)
    [conversation] = lantern.chat.list_conversations()
    _, (_question, answer) = lantern.chat.conversation(conversation.id)
    assert answer.model_id == remote_id and answer.status == "complete"
    assert answer.content.strip()
    shown = window.chat_page.view.toPlainText()
    assert shown.startswith(f"You\nWrite three sentences about the sea.\n{remote_id}\n")
    assert shown.endswith(answer.content)
    assert len(log.lengths) >= 2 and log.lengths == sorted(log.lengths)  # it streamed
    qtbot.waitUntil(window.chat_page.send_button.isEnabled, timeout=TIMEOUT_MS)


def test_use_for_chat_on_the_remote_tab_picks_the_model_in_the_chat(
    qtbot, window: MainWindow, lantern: Lantern, llama_cpp_server: LlamaCppServer
) -> None:
    # Added behind the window's back (from the command line): the chat does not list it yet.
    lantern.remotes.add("gpu", llama_cpp_server.url, llama_cpp_server.api_key)
    remote_id = f"gpu:{llama_cpp_server.model}"
    picker = window.chat_page.model_picker
    assert picker.findData(remote_id) < 0
    window.show_page(MODELS_PAGE)
    view = window.models_page.remote
    window.models_page.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.selected_model() == remote_id, timeout=TIMEOUT_MS)
    assert view.use_button.isEnabled()
    qtbot.mouseClick(view.use_button, Qt.MouseButton.LeftButton)
    assert window.sections.currentIndex() == CHAT_PAGE
    qtbot.waitUntil(lambda: picker.currentData() == remote_id, timeout=TIMEOUT_MS)

    # Once it is listed, at once.
    picker.choose(lantern.models.list()[0].id)
    window.show_page(MODELS_PAGE)
    view.models_list.setCurrentRow(0)
    view.use_selected()
    assert window.sections.currentIndex() == CHAT_PAGE and picker.currentData() == remote_id


# ---- the Playground ----


@pytest.fixture
def playground(qtbot, keyring_lantern: Lantern) -> Iterator[PlaygroundPage]:
    """The Playground page; `show_models(page)` lists the models once the remotes are added."""
    make = partial(PlaygroundPage, keyring_lantern)
    with page_on_its_own(qtbot, make, (1300, 850)) as page:
        yield page


def show_models(page: PlaygroundPage, lantern: Lantern) -> None:
    page.set_models(lantern.models.options(), lantern.models.list()[0].id)


def choose(page: PlaygroundPage, model_id: str, side: int = 0) -> None:
    picker = page.lanes[side].model_picker
    picker.setCurrentIndex(picker.findData(model_id))


def constraint_item(page: PlaygroundPage, kind: str, side: int = 0):  # type: ignore[no-untyped-def]
    combo = page.parameters[side].constraint_kind
    model = combo.model()
    assert isinstance(model, QStandardItemModel)
    return model.item(combo.findData(kind))


def set_everything(page: PlaygroundPage, side: int = 0) -> None:
    """Raw completion, three alternatives per token, a grammar: all a local model can do."""
    page.editor.raw_button.setChecked(True)
    page.editor.prompt_box.setPlainText(PROMPT)
    sampling = Sampling(max_tokens=8, temperature=0.0, seed=7)
    page.parameters[side].set_parameters(PlaygroundParameters(sampling, GRAMMAR, 3))


def test_the_playground_greys_out_what_a_server_cannot_do_and_gives_it_back(
    qtbot, playground: PlaygroundPage, keyring_lantern: Lantern, plain: str, gpu: str
) -> None:
    page, lantern = playground, keyring_lantern
    show_models(page, lantern)
    set_everything(page)
    editor, panel, lane = page.editor, page.parameters[0], page.lanes[0]
    assert editor.raw_button.isEnabled() and editor.mode() == "raw"

    # A server that does chat only: each greyed out with its reason, and left out.
    choose(page, plain)
    cannot = capabilities(lantern, plain)
    assert not editor.raw_button.isEnabled() and editor.mode() == "chat"
    assert editor.raw_button.toolTip() == cannot.raw_completion
    assert not panel.alternatives.isEnabled()
    assert panel.alternatives.toolTip() == cannot.logprobs
    grammar, schema = constraint_item(page, "grammar"), constraint_item(page, "json_schema")
    assert not grammar.isEnabled() and grammar.toolTip() == cannot.grammar
    assert not schema.isEnabled() and schema.toolTip() == cannot.json_schema
    assert not panel.constraint_text.isEnabled()
    assert panel.constraint_text.toolTip() == cannot.grammar
    assert panel.parameters() == PlaygroundParameters(panel.parameters().sampling, None, 0)
    assert not editor.preview_button.isEnabled()
    assert editor.preview_button.toolTip() == cannot.rendered_prompt
    assert not lane.code_button.isEnabled()
    assert "runs on the server plain" in lane.code_button.toolTip()
    assert page.limits_notice.isVisible()
    assert page.limits_notice.message.split("\n") == [
        f"Raw completion is greyed out: {cannot.raw_completion}",
        f"Alternatives per token are not shown: {cannot.logprobs}",
        f"The output shape is left out: {cannot.grammar}",
    ]

    # A local model can do all of it again: what was set is back, only the mode stays chat.
    choose(page, lantern.models.list()[0].id)
    assert editor.raw_button.isEnabled() and editor.raw_button.toolTip() == RAW_HINT
    assert panel.alternatives.isEnabled() and panel.alternatives.toolTip() == HELP["alternatives"]
    assert grammar.isEnabled() and schema.isEnabled() and panel.constraint_text.isEnabled()
    assert panel.parameters().constraint == GRAMMAR and panel.parameters().alternatives == 3
    assert editor.preview_button.isEnabled() and editor.preview_button.toolTip() == PREVIEW_HINT
    assert lane.code_button.isEnabled() and lane.code_button.toolTip() == CODE_HINT
    assert not page.limits_notice.isVisible()

    # llama-cpp-python's server: raw completion, alternatives and grammars, but not the
    # exact text the model gets (its own template) nor choosing a token to go on from.
    choose(page, gpu)
    editor.raw_button.setChecked(True)
    assert editor.raw_button.isEnabled() and panel.alternatives.isEnabled()
    assert grammar.isEnabled() and panel.parameters().constraint == GRAMMAR
    assert editor.preview_button.isEnabled()  # a raw prompt is given as it is
    editor.chat_button.setChecked(True)
    assert not editor.preview_button.isEnabled()
    assert editor.preview_button.toolTip() == capabilities(lantern, gpu).rendered_prompt
    assert not lane.code_button.isEnabled()
    assert page.limits_notice.message == (
        "On gpu, greyed out: Show what the model gets, choosing a token to go on from, "
        "Copy as code (hover one for why)."
    )

    # Side by side, raw completion goes where either side cannot do it.
    page.compare_button.setChecked(True)
    choose(page, plain, side=1)
    assert not editor.raw_button.isEnabled()
    assert page.limits_notice.message.startswith(
        f"Raw completion is greyed out: {cannot.raw_completion}"
    )
    page.compare_button.setChecked(False)
    assert editor.raw_button.isEnabled()


def test_what_a_server_cannot_do_is_never_sent(
    qtbot, playground: PlaygroundPage, keyring_lantern: Lantern, plain: str, stand_in: StandIn
) -> None:
    page = playground
    show_models(page, keyring_lantern)
    set_everything(page)
    choose(page, plain)
    probed = len(stand_in.generation_requests())  # when it was added
    with qtbot.waitSignal(page.runs_ended, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert page.lanes[0].view.toPlainText() == "Hello, world! How are you?"
    [request] = stand_in.generation_requests()[probed:]
    assert request.path == "/v1/chat/completions"
    assert request.body["messages"] == [{"role": "user", "content": PROMPT}]
    for field in ("logprobs", "top_logprobs", "grammar", "response_format"):
        assert field not in request.body
    [record] = keyring_lantern.playground.sessions()
    assert record.model_id == plain and record.status == "complete"


def test_a_raw_completion_runs_on_a_server_that_can_and_its_tokens_cannot_be_chosen_from(
    qtbot, playground: PlaygroundPage, keyring_lantern: Lantern, gpu: str
) -> None:
    page, lantern = playground, keyring_lantern
    show_models(page, lantern)
    set_everything(page)
    page.parameters[0].constraint_kind.setCurrentIndex(0)  # no grammar: the model speaks
    choose(page, gpu)
    with qtbot.waitSignal(page.runs_ended, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    lane = page.lanes[0]
    [record] = lantern.playground.sessions()
    assert record.model_id == gpu and record.status == "complete" and record.mode == "raw"
    assert record.prompt == PROMPT
    assert lane.view.toPlainText() == record.output != ""
    assert lane.view.tokens and all(len(t.alternatives) >= 2 for t in lane.view.tokens)
    assert "Done" in lane.status_label.text()

    # The server cannot go on from a token one chooses: greyed out in the menu, with why.
    reason = capabilities(lantern, gpu).forced_tokens
    assert reason is not None and lane.view.forcing == reason
    menu = lane.view.alternatives_menu(0)
    choices = [action for action in menu.actions() if not action.isSeparator()]
    assert choices and not any(action.isEnabled() for action in choices)
    assert sorted(action.toolTip() for action in choices) == sorted(
        [reason] * (len(choices) - 1) + ["the token chosen"]
    )
    first = lane.view.tokens[0]
    other = next(a for a in first.alternatives if a.text != first.choice.text)
    page.force(0, 0, other.token_id)
    assert page.status.message == reason and not page.is_running()
    assert len(lantern.playground.sessions()) == 1

    # A local model's run can be chosen from again.
    choose(page, lantern.models.list()[0].id)
    with qtbot.waitSignal(page.runs_ended, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert lane.view.forcing is None
    assert any(action.isEnabled() for action in lane.view.alternatives_menu(0).actions())


# ---- token counts: exact where the server counts them, else estimates shown as such ----


def test_the_playground_count_is_an_estimate_where_the_server_cannot_count(
    qtbot, playground: PlaygroundPage, keyring_lantern: Lantern, plain: str, gpu: str
) -> None:
    page = playground
    show_models(page, keyring_lantern)
    page.editor.chat_button.setChecked(True)
    page.editor.prompt_box.setPlainText(PROMPT)
    choose(page, plain)
    qtbot.waitUntil(lambda: page.count_text().startswith("≈ "), timeout=TIMEOUT_MS)
    reason = capabilities(keyring_lantern, plain).exact_token_counts
    assert reason is not None and "estimates" in reason
    assert page.editor.count_label.toolTip().endswith(f"text alone. {reason}")
    assert page.count_text() == f"≈ {math.ceil(len(PROMPT.encode()) / 4)} tokens"  # 4 bytes each

    # Its server has a tokenizer to ask, but a chat's count leaves out the template the
    # server applies: an estimate too, saying so.
    choose(page, gpu)
    qtbot.waitUntil(
        lambda: page.editor.count_label.toolTip().startswith(
            capabilities(keyring_lantern, gpu).rendered_prompt or "?"
        ),
        timeout=TIMEOUT_MS,
    )
    assert page.count_text().startswith("≈ ")
    assert page.editor.count_label.toolTip().endswith(" The count is the messages' text alone.")

    # A prompt as is: the server's own tokenizer counts exactly what it is given.
    page.editor.raw_button.setChecked(True)
    qtbot.waitUntil(
        lambda: page.count_text().endswith("tokens") and "≈" not in page.count_text(),
        timeout=TIMEOUT_MS,
    )
    assert page.editor.count_label.toolTip() == "By the model's own tokenizer"


@pytest.fixture
def summarize(qtbot, keyring_lantern: Lantern) -> Iterator[SummarizePage]:
    with page_on_its_own(qtbot, partial(SummarizePage, keyring_lantern)) as page:
        yield page


def test_the_summary_count_is_an_estimate_where_the_server_cannot_count(
    qtbot, summarize: SummarizePage, keyring_lantern: Lantern, plain: str, gpu: str
) -> None:
    page, lantern = summarize, keyring_lantern
    page.set_models(lantern.models.options(), plain)
    page.document_input.text_box.setPlainText(TEXT)
    qtbot.waitUntil(lambda: "≈" in page.counts_text(), timeout=TIMEOUT_MS)
    options = page.options_bar.options()
    plan = lantern.summarize.plan(SourceText(TEXT), options, model_id=plain)
    words = len(TEXT.split())
    assert page.counts_text() == f"{words} words · ≈ {plan.tokens:,} tokens · 1 pass"
    reason = capabilities(lantern, plain).exact_token_counts
    assert page.document_input.counts.toolTip() == reason

    page.options_bar.choose_model(gpu)
    plan = lantern.summarize.plan(SourceText(TEXT), options, model_id=gpu)
    qtbot.waitUntil(
        lambda: page.counts_text() == f"{words} words · {plan.tokens:,} tokens · 1 pass",
        timeout=TIMEOUT_MS,
    )
    assert page.document_input.counts.toolTip() == ""
