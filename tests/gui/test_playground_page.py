"""The Playground page with the real starter model and a real store: the prompt counted as it
is typed, an answer shown token by token with its probabilities and alternatives, an
alternative clicked and continued from, two runs side by side, variables and few-shot
examples, presets, a saved run opened again, copy as code, a bad grammar, and names for
every control."""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import partial

import pytest
from page_harness import page_on_its_own
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication
from test_accessibility import unnamed_controls

from desktop.engine.protocol import OutputConstraint, Sampling
from desktop.services.app import Lantern
from desktop.services.playground_parameters import PlaygroundParameters, PlaygroundPrompt
from desktop.ui.playground.page import PlaygroundPage
from desktop.ui.playground.token_view import POSITION

pytestmark = pytest.mark.gui

TIMEOUT_MS = 120_000
PROMPT = "The three primary colours are"


@pytest.fixture
def page(qtbot, lantern: Lantern) -> Iterator[PlaygroundPage]:
    with page_on_its_own(qtbot, partial(PlaygroundPage, lantern), (1300, 850)) as page:
        page.set_models(lantern.models.options(), None)
        yield page


def greedy(page: PlaygroundPage, side: int = 0, max_tokens: int = 10, **changes: object) -> None:
    sampling = Sampling(max_tokens=max_tokens, temperature=0.0, seed=7)
    page.parameters[side].set_parameters(
        PlaygroundParameters(sampling, **changes)  # type: ignore[arg-type]
    )


def run(qtbot, page: PlaygroundPage) -> None:
    with qtbot.waitSignal(page.runs_ended, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)


def test_the_prompt_is_counted_by_the_models_tokenizer_as_it_is_typed(
    qtbot, page: PlaygroundPage, lantern: Lantern
) -> None:
    page.editor.prompt_box.setPlainText(PROMPT)
    assert page.count_text() == "counting…"
    qtbot.waitUntil(lambda: "token" in page.count_text(), timeout=TIMEOUT_MS)
    model_id = lantern.models.list()[0].id
    expected = lantern.playground.preview(model_id, PlaygroundPrompt("raw", prompt=PROMPT))
    assert page.count_text() == f"{expected.tokens} tokens"
    page.editor.prompt_box.setPlainText(PROMPT + " red, yellow and blue, and")
    qtbot.waitUntil(lambda: page.count_text() not in ("counting…", f"{expected.tokens} tokens"))
    assert int(page.count_text().split()[0]) > expected.tokens


def test_an_answer_shows_each_token_with_its_probability_and_alternatives(
    qtbot, page: PlaygroundPage, lantern: Lantern
) -> None:
    page.editor.prompt_box.setPlainText(PROMPT)
    greedy(page)
    run(qtbot, page)
    lane = page.lanes[0]
    [record] = lantern.playground.sessions()
    assert record.status == "complete"
    assert lane.view.toPlainText() == record.output
    tokens = lane.view.tokens
    assert len(tokens) == len(record.tokens) > 0
    assert "tok/s" in lane.status_label.text() and "first token" in lane.status_label.text()
    # Hovering the first token's text names its probability and its alternatives.
    cursor = QTextCursor(lane.view.document())
    cursor.setPosition(1)
    tooltip = cursor.charFormat().toolTip()
    assert f"{math.exp(tokens[0].choice.logprob) * 100:.1f}%" in tooltip
    assert tooltip.count("<tr>") == 5
    # A click on a token finds that token.
    rect = lane.view.cursorRect(cursor)
    assert lane.view.position_at(QPoint(rect.x() - 2, rect.center().y())) == 0
    qtbot.waitUntil(lambda: page.sessions.history.ids() == [record.id], timeout=TIMEOUT_MS)


def test_choosing_an_alternative_puts_it_in_place_and_goes_on_from_there(
    qtbot, page: PlaygroundPage, lantern: Lantern
) -> None:
    page.editor.prompt_box.setPlainText(PROMPT)
    greedy(page, max_tokens=8)
    run(qtbot, page)
    first = list(page.lanes[0].view.tokens)
    position = 2
    menu = page.lanes[0].view.alternatives_menu(position)
    alternatives = [a for a in menu.actions() if a.isEnabled() and not a.isSeparator()]
    assert alternatives, "the other likely tokens can be chosen"
    with qtbot.waitSignal(page.runs_ended, timeout=TIMEOUT_MS):
        alternatives[0].trigger()
    tokens = page.lanes[0].view.tokens
    assert [t.choice.token_id for t in tokens[:position]] == [
        t.choice.token_id for t in first[:position]
    ]
    assert tokens[position].forced
    assert tokens[position].choice.token_id != first[position].choice.token_id
    branch = lantern.playground.sessions()[0]
    assert branch.branch_of is not None and branch.branch_at == position
    cursor = QTextCursor(page.lanes[0].view.document())
    cursor.setPosition(len("".join(t.choice.text for t in tokens[:position])) + 1)
    assert cursor.charFormat().property(POSITION) == position
    assert "chosen by you" in cursor.charFormat().toolTip()


def test_side_by_side_runs_both_sides_and_shows_each_ones_speed(
    qtbot, page: PlaygroundPage, lantern: Lantern
) -> None:
    page.editor.prompt_box.setPlainText(PROMPT)
    page.compare_button.setChecked(True)
    assert page.lanes[1].isVisible()
    greedy(page, 0, max_tokens=6)
    page.parameters[1].set_parameters(
        PlaygroundParameters(Sampling(max_tokens=6, temperature=1.2, seed=3))
    )
    run(qtbot, page)
    records = lantern.playground.sessions()
    assert sorted(r.lane for r in records) == [0, 1]
    assert len({r.comparison_id for r in records}) == 1
    for lane, record in zip(page.lanes, sorted(records, key=lambda r: r.lane), strict=True):
        assert record.status == "complete" and record.stats
        assert "tok/s" in lane.status_label.text()
        assert lane.view.toPlainText() == record.output
    assert "temp 1.2" in page.lanes[1].settings_label.text()


def test_variables_and_examples_make_the_prompt_and_chat_shows_the_template(
    qtbot, page: PlaygroundPage
) -> None:
    editor = page.editor
    editor.prompt_box.setPlainText('Translate {word} into French. Answer as {"word": "..."}')
    assert list(editor.variables()) == ["word"]
    editor.set_variable("word", "cheese")
    assert editor.prompt().prompt == 'Translate cheese into French. Answer as {"word": "..."}'

    editor.prompt_box.setPlainText("{word}")
    editor.add_example()
    editor.examples_table.item(0, 0).setText("bread")
    editor.examples_table.item(0, 1).setText("pain")
    assert editor.prompt().prompt == "Input: bread\nOutput: pain\n\nInput: cheese\nOutput:"
    editor.examples_check.setChecked(False)
    assert editor.prompt().prompt == "cheese"  # zero-shot

    editor.chat_button.setChecked(True)
    editor.system_box.setPlainText("You translate into French.")
    editor.preview_button.setChecked(True)
    qtbot.waitUntil(lambda: "<|im_start|>" in editor.preview_box.toPlainText(), timeout=TIMEOUT_MS)
    assert "You translate into French." in editor.preview_box.toPlainText()
    assert "cheese" in editor.preview_box.toPlainText()


def test_presets_are_saved_applied_and_reset_to_the_models_defaults(
    qtbot, page: PlaygroundPage, lantern: Lantern
) -> None:
    panel = page.parameters[0]
    grammar = OutputConstraint("grammar", 'root ::= "yes" | "no"')
    chosen = PlaygroundParameters(Sampling(temperature=0.3, top_k=12, mirostat=2), grammar, 3)
    panel.set_parameters(chosen)
    page.save_preset(0, "Careful")
    qtbot.waitUntil(lambda: panel.presets.findText("Careful") >= 0, timeout=TIMEOUT_MS)
    assert lantern.playground.presets.get("Careful").parameters == chosen.as_json()

    panel.set_parameters(PlaygroundParameters())
    page.apply_preset(0, "Careful")
    qtbot.waitUntil(lambda: panel.parameters() == chosen, timeout=TIMEOUT_MS)
    assert not panel._fields["top_k"].isEnabled(), "Mirostat replaces top-k"

    page.reset_to_model(0)
    qtbot.waitUntil(lambda: panel.parameters().sampling.mirostat == 0, timeout=TIMEOUT_MS)
    assert panel.parameters().sampling == Sampling(max_tokens=chosen.sampling.max_tokens)

    page.delete_preset("Careful")
    qtbot.waitUntil(lambda: panel.presets.count() == 0, timeout=TIMEOUT_MS)


def test_a_saved_run_opens_with_its_prompt_parameters_and_tokens(
    qtbot, page: PlaygroundPage, lantern: Lantern
) -> None:
    page.editor.prompt_box.setPlainText("Name a {thing}:")
    page.editor.set_variable("thing", "fruit")
    greedy(page, max_tokens=5)
    run(qtbot, page)
    shown = list(page.lanes[0].view.tokens)
    page.sessions.new()
    assert page.editor.prompt_box.toPlainText() == "" and not page.lanes[0].view.tokens
    [record] = lantern.playground.sessions()
    page.sessions.open(record.id)
    qtbot.waitUntil(lambda: len(page.lanes[0].view.tokens) == len(shown), timeout=TIMEOUT_MS)
    assert page.editor.prompt_box.toPlainText() == "Name a {thing}:"
    assert page.editor.variables() == {"thing": "fruit"}
    assert page.parameters[0].parameters().sampling.max_tokens == 5
    reopened = page.lanes[0].view.tokens
    assert [t.choice.text for t in reopened] == [t.choice.text for t in shown]
    for saved, streamed in zip(reopened, shown, strict=True):
        assert saved.choice.token_id == streamed.choice.token_id
        assert saved.choice.logprob == pytest.approx(streamed.choice.logprob, abs=1e-4)
        assert [a.token_id for a in saved.alternatives] == [
            a.token_id for a in streamed.alternatives
        ]
    assert "tok/s" in page.lanes[0].status_label.text()


def test_copy_as_code_gives_the_same_request_for_llama_cpp_python_and_openai(
    page: PlaygroundPage, lantern: Lantern
) -> None:
    lantern.change_settings(server_host="0.0.0.0", server_port=9123)
    page.editor.prompt_box.setPlainText(PROMPT)
    greedy(page, max_tokens=9)
    dialog = page.show_code(0)
    assert dialog is not None
    llama_code, openai_code = dialog.codes.values()
    for code in (llama_code, openai_code):
        compile(code, "<copied>", "exec")
        assert repr(PROMPT) in code and "max_tokens=9" in code
    assert "create_completion" in llama_code and "completions.create" in openai_code
    # Lantern's API where the settings have it listen, as this computer reaches it.
    assert "base_url='http://127.0.0.1:9123/v1'" in openai_code
    assert dialog.copy_shown() == QApplication.clipboard().text() == llama_code
    dialog.close()


def test_a_grammar_llama_cpp_rejects_is_reported_and_the_next_run_works(
    qtbot, page: PlaygroundPage, lantern: Lantern
) -> None:
    page.editor.prompt_box.setPlainText("Is the sky blue?")
    greedy(page, constraint=OutputConstraint("grammar", "root ::= answer"))
    run(qtbot, page)
    assert "grammar" in page.status.message.lower()
    assert "Failed" in page.lanes[0].status_label.text()
    assert lantern.playground.sessions()[0].status == "failed"
    greedy(page, max_tokens=4, constraint=OutputConstraint("grammar", 'root ::= "yes" | "no"'))
    run(qtbot, page)
    assert page.lanes[0].view.toPlainText() in ("yes", "no")


def test_every_control_has_a_name(page: PlaygroundPage) -> None:
    page.compare_button.setChecked(True)
    page.editor.chat_button.setChecked(True)
    page.editor.add_example()
    page.editor.prompt_box.setPlainText("About {topic}")
    assert unnamed_controls(page) == []


def test_esc_stops_a_run_and_keeps_what_was_written(
    qtbot, page: PlaygroundPage, lantern: Lantern
) -> None:
    page.editor.prompt_box.setPlainText("Once upon a time")
    page.parameters[0].set_parameters(PlaygroundParameters(Sampling(max_tokens=2000)))
    page.activateWindow()
    page.editor.prompt_box.setFocus()
    qtbot.waitUntil(page.editor.prompt_box.hasFocus)
    with qtbot.waitSignal(page.runs_ended, timeout=TIMEOUT_MS):
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(page.lanes[0].view.tokens) >= 3, timeout=TIMEOUT_MS)
        qtbot.keyClick(page.editor.prompt_box, Qt.Key.Key_Escape)
    [record] = lantern.playground.sessions()
    assert record.status == "cancelled"
    assert record.output and page.lanes[0].view.toPlainText() == record.output
    assert "Stopped" in page.lanes[0].status_label.text()
    assert len(record.tokens) < 2000
