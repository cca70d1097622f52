"""One chat message as a widget: its status line, actions, editing, branches and streaming."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QWidget

from desktop.store.repositories import MessageRecord
from desktop.ui.chat.markdown_view import MarkdownView
from desktop.ui.chat.message_notes import dropped_note, stats_tooltip, status_line
from desktop.ui.chat.message_widget import MessageWidget

pytestmark = pytest.mark.gui

MODEL = "qwen2.5-0.5b-instruct-q4_k_m"
STATS = {
    "generated_tokens": 42,
    "generation_tokens_per_s": 95.25,
    "time_to_first_token_s": 0.153,
    "prompt_tokens": 38,
    "cached_prompt_tokens": 30,
    "dropped_messages": 0,
    "context_length": 4096,
}
ANSWER = "Use slicing:\n\n```python\nprint([1, 2, 3][::-1])\n```\n"


def record(
    role: str = "assistant",
    content: str = ANSWER,
    *,
    id: int = 7,
    status: str = "complete",
    stats: dict[str, Any] | None = None,
    error: str | None = None,
) -> MessageRecord:
    moment = datetime(2024, 5, 1, 12, 0)
    return MessageRecord(
        id=id,
        conversation_id=1,
        parent_id=None,
        role=role,
        content=content,
        status=status,
        model_id=None if role == "user" else MODEL,
        stats=stats,
        error=error,
        created_at=moment,
        updated_at=moment,
    )


def shown(qtbot, message: MessageRecord, branch: tuple[int, int] | None = None) -> MessageWidget:
    widget = MessageWidget(message, branch)
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def visible(widget: QWidget) -> bool:
    return widget.isVisibleTo(widget.window())


def click(qtbot, button: QWidget) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


# ---- who wrote it, and the body ----


def test_user_message_is_plain_text_with_edit_not_regenerate(qtbot):
    text = "Is <b>this</b> bold? **no** & <script>x</script>"
    widget = shown(qtbot, record("user", text))
    assert widget.author.text() == "You"
    assert widget.plain_body.text() == text
    assert widget.plain_body.textFormat() == Qt.TextFormat.PlainText
    assert widget.plain_body.wordWrap()
    assert widget.markdown_view() is None
    assert visible(widget.copy_button) and visible(widget.edit_button)
    assert not visible(widget.regenerate_button)
    assert not visible(widget.continue_button)
    assert not visible(widget.status_label)
    assert widget.toolTip() == ""


def test_complete_answer_is_markdown_with_model_as_author(qtbot):
    widget = shown(qtbot, record(stats=STATS))
    assert widget.author.text() == MODEL
    view = widget.markdown_view()
    assert view is not None and visible(view)
    assert view.markdown() == ANSWER
    assert view.rendered().code_blocks == ["print([1, 2, 3][::-1])"]
    assert not visible(widget.plain_body)
    assert visible(widget.copy_button) and visible(widget.regenerate_button)
    assert not visible(widget.edit_button)
    assert not visible(widget.continue_button)
    assert not visible(widget.status_label)
    assert not visible(widget.dropped_label)


@pytest.mark.parametrize(
    ("status", "error", "line", "can_continue"),
    [
        ("stopped", None, "Stopped", True),
        ("interrupted", None, "Interrupted by a crash", True),
        ("failed", "The model ran out of memory.", "Failed: The model ran out of memory.", False),
        ("failed", None, "Failed", False),
    ],
)
def test_answer_cut_short_shows_its_status(qtbot, status, error, line, can_continue):
    widget = shown(qtbot, record(content="Partial answer", status=status, error=error))
    assert visible(widget.status_label)
    assert widget.status_label.text() == line
    assert widget.status_label.wordWrap()
    assert visible(widget.continue_button) is can_continue
    assert visible(widget.regenerate_button)
    assert visible(widget.copy_button)


def test_failed_answer_without_text_shows_no_empty_body(qtbot):
    widget = shown(qtbot, record(content="", status="failed", error="Engine crashed."))
    assert widget.status_label.text() == "Failed: Engine crashed."
    view = widget.markdown_view()
    assert view is not None and not visible(view)
    assert not visible(widget.copy_button)  # nothing to copy
    assert visible(widget.regenerate_button)


def test_continue_and_regenerate_emit_the_message_id(qtbot):
    widget = shown(qtbot, record(id=31, content="Half", status="interrupted"))
    with qtbot.waitSignal(widget.continue_requested) as blocker:
        click(qtbot, widget.continue_button)
    assert blocker.args == [31]
    with qtbot.waitSignal(widget.regenerate_requested) as blocker:
        click(qtbot, widget.regenerate_button)
    assert blocker.args == [31]


def test_a_message_makes_only_what_it_shows(qtbot):
    """Many of these stack in a conversation: no editor, notes or unused actions until they
    are needed, and no style sheet to parse and match."""
    user = shown(qtbot, record("user", "Hi"))
    answer = shown(qtbot, record(content="Hello"))
    for widget in (user, answer):
        assert widget.findChild(QPlainTextEdit) is None
        assert all(not w.styleSheet() for w in [widget, *widget.findChildren(QWidget)])
    assert answer.findChild(QLabel, "messageStatus") is None
    assert user.findChild(MarkdownView) is None
    user.start_edit()
    assert user.findChild(QPlainTextEdit) is user.editor


def test_the_users_message_sits_on_a_panel(qtbot):
    user = shown(qtbot, record("user", "Hi"))
    answer = shown(qtbot, record(content="Hello"))
    panel = user.palette().color(QPalette.ColorRole.AlternateBase)
    point = QPoint(user.width() - 4, user.height() // 2)  # inside the rounded corners
    assert user.grab().toImage().pixelColor(point) == panel
    assert answer.grab().toImage().pixelColor(point) != panel


# ---- stats and notes ----


def test_tooltip_holds_the_stats(qtbot):
    widget = shown(qtbot, record(stats=STATS))
    tip = widget.toolTip()
    assert f"Model: {MODEL}" in tip
    assert "Tokens: 42" in tip
    assert "Speed: 95.2 tokens/s" in tip or "Speed: 95.3 tokens/s" in tip
    assert "Time to first token: 0.15 s" in tip
    assert "Prompt: 38 tokens (30 cached)" in tip
    assert "Context window: 4096 tokens" in tip


def test_tooltip_without_stats_names_the_model_only():
    assert stats_tooltip(MODEL, None) == f"Model: {MODEL}"
    assert stats_tooltip(None, {"prompt_tokens": 5}) == "Model: unknown\nPrompt: 5 tokens"


def test_dropped_messages_note(qtbot):
    widget = shown(qtbot, record(stats={**STATS, "dropped_messages": 3}))
    assert visible(widget.dropped_label)
    assert widget.dropped_label.text() == (
        "3 earlier messages were left out to fit the model's context window"
    )
    widget.set_record(record(stats={**STATS, "dropped_messages": 0}))
    assert not visible(widget.dropped_label)
    assert dropped_note({"dropped_messages": 1}) == (
        "1 earlier message was left out to fit the model's context window"
    )
    assert dropped_note(None) is None
    assert status_line("complete") is None


# ---- copy ----


@pytest.mark.parametrize("role", ["user", "assistant"])
def test_copy_puts_the_exact_text_on_the_clipboard(qtbot, role):
    text = "  Line one\n\n**two** <tag> & `code`\n"
    widget = shown(qtbot, record(role, text))
    QGuiApplication.clipboard().setText("something else")
    click(qtbot, widget.copy_button)
    assert QGuiApplication.clipboard().text() == text
    assert widget.copy_button.text() == "Copied"


# ---- edit ----


def test_edit_then_save_emits_the_new_text(qtbot):
    widget = shown(qtbot, record("user", "Original question", id=12))
    click(qtbot, widget.edit_button)
    assert widget.is_editing()
    assert visible(widget.editor) and not visible(widget.plain_body)
    assert widget.editor.toPlainText() == "Original question"
    assert not visible(widget.edit_button) and not visible(widget.copy_button)
    widget.editor.selectAll()
    qtbot.keyClicks(widget.editor, "Better question")
    with qtbot.waitSignal(widget.edit_submitted) as blocker:
        click(qtbot, widget.save_button)
    assert blocker.args == [12, "Better question"]
    assert not widget.is_editing()
    assert visible(widget.plain_body)


def test_ctrl_enter_saves(qtbot):
    widget = shown(qtbot, record("user", "Question", id=3))
    widget.start_edit()
    qtbot.keyClicks(widget.editor, " again")
    with qtbot.waitSignal(widget.edit_submitted) as blocker:
        qtbot.keyClick(widget.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args == [3, "Question again"]


def test_escape_cancels_the_edit_and_restores_the_original(qtbot):
    widget = shown(qtbot, record("user", "Keep me"))
    with qtbot.assertNotEmitted(widget.edit_submitted):
        click(qtbot, widget.edit_button)
        qtbot.keyClicks(widget.editor, " changed")
        qtbot.keyClick(widget.editor, Qt.Key.Key_Escape)
    assert not widget.is_editing()
    assert visible(widget.plain_body) and not visible(widget.editor)
    assert widget.plain_body.text() == "Keep me"
    assert visible(widget.edit_button)
    widget.start_edit()  # the editor starts again from the original
    assert widget.editor.toPlainText() == "Keep me"


def test_cancel_button_and_empty_text_cannot_be_saved(qtbot):
    widget = shown(qtbot, record("user", "Text"))
    widget.start_edit()
    widget.editor.setPlainText("   \n")
    assert not widget.save_button.isEnabled()
    with qtbot.assertNotEmitted(widget.edit_submitted):
        widget.save_edit()
    click(qtbot, widget.cancel_button)
    assert not widget.is_editing()
    assert widget.plain_body.text() == "Text"


# ---- branches ----


def test_branch_arrows_emit_steps_and_are_disabled_at_the_ends(qtbot):
    widget = shown(qtbot, record(id=9), branch=(2, 3))
    assert visible(widget.branch_label) and widget.branch_label.text() == "2/3"
    assert widget.previous_button.isEnabled() and widget.next_button.isEnabled()
    with qtbot.waitSignal(widget.branch_requested) as blocker:
        click(qtbot, widget.previous_button)
    assert blocker.args == [9, -1]
    with qtbot.waitSignal(widget.branch_requested) as blocker:
        click(qtbot, widget.next_button)
    assert blocker.args == [9, 1]

    widget.set_record(record(id=9), (1, 3))
    assert widget.branch_label.text() == "1/3"
    assert not widget.previous_button.isEnabled() and widget.next_button.isEnabled()
    widget.set_record(record(id=9), (3, 3))
    assert widget.previous_button.isEnabled() and not widget.next_button.isEnabled()
    with qtbot.assertNotEmitted(widget.branch_requested):
        click(qtbot, widget.next_button)


@pytest.mark.parametrize("branch", [None, (1, 1)])
def test_no_branch_arrows_for_a_single_version(qtbot, branch):
    widget = shown(qtbot, record("user", "Hi"), branch)
    for part in (widget.previous_button, widget.branch_label, widget.next_button):
        assert not visible(part)


# ---- accessibility ----


def test_actions_have_names_and_take_keyboard_focus(qtbot):
    widget = shown(qtbot, record(content="Half", status="stopped"), branch=(2, 2))
    for button in (
        widget.continue_button,
        widget.previous_button,
        widget.next_button,
        widget.copy_button,
        widget.regenerate_button,
    ):
        assert button.accessibleName()
        assert button.focusPolicy() & Qt.FocusPolicy.TabFocus
    user = shown(qtbot, record("user", "Hi"))
    assert user.edit_button.accessibleName() == "Edit message"
    assert user.edit_button.focusPolicy() & Qt.FocusPolicy.TabFocus


def test_space_on_a_focused_action_activates_it(qtbot):
    widget = shown(qtbot, record(id=4))
    widget.regenerate_button.setFocus()
    with qtbot.waitSignal(widget.regenerate_requested):
        qtbot.keyClick(widget.regenerate_button, Qt.Key.Key_Space)


# ---- links ----


def test_links_in_the_answer_are_reported(qtbot):
    widget = shown(qtbot, record(content="See [docs](https://example.com/docs)."))
    view = widget.markdown_view()
    assert view is not None
    with qtbot.waitSignal(widget.link_activated) as blocker:
        view.link_activated.emit("https://example.com/docs")
    assert blocker.args == ["https://example.com/docs"]


# ---- streaming ----


def test_streaming_appends_then_finish_shows_status_stats_and_buttons(qtbot):
    widget = shown(qtbot, record(id=20, content="", status="streaming"))
    view = widget.markdown_view()
    assert view is not None
    for button in (
        widget.copy_button,
        widget.regenerate_button,
        widget.continue_button,
        widget.edit_button,
    ):
        assert not visible(button)
    assert widget.toolTip() == ""

    widget.append_text("Hello")
    widget.append_text(", **world**")
    widget.append_text("")
    assert widget.text() == "Hello, **world**"
    assert view.markdown() == "Hello, **world**"
    assert view.toPlainText().strip() == "Hello, world"
    assert visible(view)

    final = record(id=20, content="Hello, **world**", status="stopped", stats=STATS)
    widget.finish(final)
    assert widget.record() is final
    assert widget.status_label.text() == "Stopped"
    assert visible(widget.continue_button)
    assert visible(widget.copy_button) and visible(widget.regenerate_button)
    assert "Tokens: 42" in widget.toolTip()
    assert view.markdown() == "Hello, **world**"


def test_finish_keeps_the_branch_and_set_record_changes_it(qtbot):
    widget = shown(qtbot, record(content="", status="streaming"), branch=(2, 2))
    assert not visible(widget.branch_label)  # no actions while it is written
    widget.append_text("Done")
    widget.finish(record(content="Done"))
    assert visible(widget.branch_label) and widget.branch_label.text() == "2/2"
    assert not widget.next_button.isEnabled()
    widget.set_record(record("user", "Question"), None)
    assert not visible(widget.branch_label)
    assert widget.author.text() == "You"
    assert visible(widget.plain_body)
    assert not visible(widget.markdown_view())
