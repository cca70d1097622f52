"""The conversation settings dialog on a real store (no model): the conversation's values,
exactly the overrides the user changed, Reset, and presets applied, saved, overwritten and
deleted, with the store checked through PresetRepository."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QWidget,
)

from desktop.services.app import Lantern
from desktop.services.chat import ConversationParameters
from desktop.settings import Settings, save_settings
from desktop.store.presets import PresetRepository
from desktop.ui.bridge import BackgroundTasks
from desktop.ui.chat.conversation_settings import (
    DROP_OLDEST,
    STOP_AND_ASK,
    ConversationSettingsDialog,
)

pytestmark = pytest.mark.gui

TIMEOUT_MS = 10_000
YES, CANCEL = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.Cancel


@pytest.fixture
def lantern(lantern_home) -> Iterator[Lantern]:
    # The user's own defaults, which fields that are not overridden show.
    app = Lantern()
    save_settings(app.paths.settings_file, Settings(temperature=0.4, max_tokens=512))
    yield app
    app.close()


OpenDialog = Callable[..., ConversationSettingsDialog]


@pytest.fixture
def open_dialog(qtbot, lantern: Lantern) -> Iterator[OpenDialog]:
    pool = QThreadPool()
    tasks = BackgroundTasks(pool)

    def open_it(
        parameters: ConversationParameters | None = None, *, close_at_teardown: bool = True
    ) -> ConversationSettingsDialog:
        dialog = ConversationSettingsDialog(lantern, tasks, parameters or ConversationParameters())
        if close_at_teardown:
            qtbot.addWidget(dialog)
        with qtbot.waitSignal(dialog.refreshed, timeout=TIMEOUT_MS):
            dialog.show()
        return dialog

    yield open_it
    # As the window does on close; then nothing of the dialog's may still run.
    tasks.close()
    pool.waitForDone()
    assert pool.activeThreadCount() == 0


@pytest.fixture
def presets(lantern: Lantern) -> PresetRepository:
    return PresetRepository(lantern.database)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """What the user types into the name box and answers to each question, in order;
    the questions asked are recorded."""
    script: dict[str, list[Any]] = {"names": [], "replies": [], "asked": []}

    def get_text(*args: Any, **kwargs: Any) -> tuple[str, bool]:
        return script["names"].pop(0)

    def question(parent: Any, title: str, text: str, *args: Any) -> QMessageBox.StandardButton:
        script["asked"].append(text)
        return script["replies"].pop(0)

    monkeypatch.setattr(QInputDialog, "getText", get_text)
    monkeypatch.setattr(QMessageBox, "question", question)
    return script


def click(qtbot, button: QAbstractButton) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def shown(dialog: ConversationSettingsDialog, name: str) -> tuple[float, bool]:
    """A field's value and whether it says Default."""
    return dialog.spins[name].value(), dialog.default_boxes[name].isChecked()


def test_fields_show_the_conversations_values(
    qtbot, lantern: Lantern, open_dialog: OpenDialog
) -> None:
    record = lantern.history.conversations.create("Trip", system_prompt="Answer as a pirate.")
    lantern.history.conversations.change(
        record.id, sampling={"temperature": 1.25, "seed": 42}, context_policy="stop"
    )
    parameters = ConversationParameters.of(lantern.history.conversations.get(record.id))
    assert parameters == ConversationParameters(
        "Answer as a pirate.", {"temperature": 1.25, "seed": 42}, "stop"
    )
    dialog = open_dialog(parameters)

    assert dialog.prompt_edit.toPlainText() == "Answer as a pirate."
    assert shown(dialog, "temperature") == (1.25, False)
    assert shown(dialog, "seed") == (42, False)
    # Not overridden: the user's settings, else the engine's defaults.
    assert shown(dialog, "max_tokens") == (512, True)
    assert shown(dialog, "top_p") == (0.95, True)
    assert shown(dialog, "top_k") == (40, True)
    assert dialog.stop_radio.isChecked() and not dialog.drop_radio.isChecked()
    assert dialog.parameters() == parameters  # opened and left alone: nothing changes


def test_a_new_chat_shows_the_defaults_and_a_random_seed(open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    assert dialog.prompt_edit.toPlainText() == ""
    assert shown(dialog, "temperature") == (0.4, True)
    assert dialog.spins["seed"].text() == "Random"
    assert dialog.drop_radio.isChecked()
    assert dialog.parameters() == ConversationParameters()


def test_changed_fields_become_exactly_the_overrides(
    qtbot, lantern: Lantern, open_dialog: OpenDialog
) -> None:
    record = lantern.history.conversations.create("Homework")
    dialog = open_dialog(ConversationParameters.of(record))

    qtbot.keyClicks(dialog.prompt_edit, "Explain like I am ten.")
    temperature = dialog.spins["temperature"]
    qtbot.keyClick(temperature, Qt.Key.Key_Up)
    qtbot.keyClick(temperature, Qt.Key.Key_Up)
    assert shown(dialog, "temperature") == (0.5, False)
    dialog.stop_radio.click()
    assert dialog.parameters() == ConversationParameters(
        "Explain like I am ten.", {"temperature": 0.5}, "stop"
    )

    with qtbot.waitSignal(dialog.accepted, timeout=TIMEOUT_MS):
        qtbot.keyClick(dialog.prompt_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.prompt_edit.toPlainText() == "Explain like I am ten."  # no new line added

    # What the window does with the result; the store then holds exactly that.
    chosen = dialog.parameters()
    lantern.chat.set_parameters(
        record.id,
        system_prompt=chosen.system_prompt,
        sampling=chosen.sampling,
        context_policy=chosen.context_policy,
    )
    assert ConversationParameters.of(lantern.history.conversations.get(record.id)) == chosen


def test_default_box_and_seed(qtbot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog(ConversationParameters(sampling={"top_k": 10}))
    dialog.default_boxes["top_k"].click()  # back to the default
    assert shown(dialog, "top_k") == (40, True)
    dialog.default_boxes["repeat_penalty"].click()  # pin the default as its own value
    assert dialog.parameters().sampling == {"repeat_penalty": 1.0}

    seed = dialog.spins["seed"]
    qtbot.keyClick(seed, Qt.Key.Key_Up)
    assert shown(dialog, "seed") == (0, False)
    assert dialog.parameters().sampling == {"repeat_penalty": 1.0, "seed": 0}
    qtbot.keyClick(seed, Qt.Key.Key_Down)  # Random again: what every chat gets
    assert seed.text() == "Random" and dialog.default_boxes["seed"].isChecked()
    assert dialog.parameters().sampling == {"repeat_penalty": 1.0}


def test_reset_clears_every_override_and_undo_brings_the_prompt_back(
    qtbot, open_dialog: OpenDialog
) -> None:
    dialog = open_dialog(
        ConversationParameters("Be terse.", {"temperature": 1.5, "min_p": 0.1}, "stop")
    )
    click(qtbot, dialog.reset_button)
    assert dialog.parameters() == ConversationParameters()
    assert shown(dialog, "temperature") == (0.4, True)
    assert shown(dialog, "min_p") == (0.05, True)
    assert dialog.drop_radio.isChecked()

    dialog.prompt_edit.undo()  # a slip of the mouse costs no typing
    assert dialog.prompt_edit.toPlainText() == "Be terse."


def test_escape_cancels(qtbot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    qtbot.keyClicks(dialog.prompt_edit, "Never mind")
    with qtbot.waitSignal(dialog.rejected, timeout=TIMEOUT_MS):
        qtbot.keyClick(dialog.prompt_edit, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected


def test_save_as_preset_stores_it_and_lists_it(
    qtbot, open_dialog: OpenDialog, presets: PresetRepository, answers: dict[str, list[Any]]
) -> None:
    dialog = open_dialog(ConversationParameters("Reply in haiku.", {"temperature": 1.1}, "stop"))
    assert dialog.preset_names() == []
    assert not dialog.apply_button.isEnabled() and not dialog.delete_button.isEnabled()

    answers["names"].append(("  Poet ", True))
    with qtbot.waitSignal(dialog.refreshed, timeout=TIMEOUT_MS):
        click(qtbot, dialog.save_button)
    saved = presets.get("Poet")
    assert (saved.system_prompt, saved.sampling) == ("Reply in haiku.", {"temperature": 1.1})
    assert dialog.preset_names() == ["Poet"]
    assert dialog.preset_box.currentText() == "Poet"
    assert dialog.notice.message == "Saved the preset 'Poet'." and not dialog.notice.is_error
    assert answers["asked"] == []  # a new name: nothing to confirm
    assert dialog.apply_button.isEnabled() and dialog.delete_button.isEnabled()


def test_applying_a_preset_fills_the_fields(
    qtbot, open_dialog: OpenDialog, presets: PresetRepository
) -> None:
    presets.save("Coder", "You write Python.", {"temperature": 0.1, "top_k": 20})
    presets.save("Plain", None, {})
    dialog = open_dialog(ConversationParameters("Old prompt", {"min_p": 0.2}, "stop"))
    assert dialog.preset_names() == ["Coder", "Plain"]

    dialog.preset_box.setCurrentText("Coder")
    click(qtbot, dialog.apply_button)
    assert dialog.prompt_edit.toPlainText() == "You write Python."
    assert shown(dialog, "temperature") == (0.1, False)
    assert shown(dialog, "top_k") == (20, False)
    assert shown(dialog, "min_p") == (0.05, True)  # the preset leaves it to the default
    assert "Press OK" in dialog.notice.message
    # The context policy is the conversation's, not the preset's.
    assert dialog.parameters() == ConversationParameters(
        "You write Python.", {"temperature": 0.1, "top_k": 20}, "stop"
    )

    dialog.preset_box.setCurrentText("Plain")
    click(qtbot, dialog.apply_button)
    assert dialog.parameters() == ConversationParameters("", {}, "stop")


def test_overwriting_a_preset_asks_first(
    qtbot, open_dialog: OpenDialog, presets: PresetRepository, answers: dict[str, list[Any]]
) -> None:
    presets.save("Terse", "Be brief.", {"temperature": 0.3})
    dialog = open_dialog(ConversationParameters("Be very brief.", {"max_tokens": 128}))
    assert dialog.preset_box.currentText() == "Terse"

    answers["names"].append(("Terse", True))
    answers["replies"].append(CANCEL)
    click(qtbot, dialog.save_button)
    assert len(answers["asked"]) == 1 and "Terse" in answers["asked"][0]
    assert presets.get("Terse").system_prompt == "Be brief."  # the old one stays
    assert dialog.save_button.isEnabled()  # nothing started

    answers["names"].append(("Terse", True))
    answers["replies"].append(YES)
    with qtbot.waitSignal(dialog.refreshed, timeout=TIMEOUT_MS):
        click(qtbot, dialog.save_button)
    replaced = presets.get("Terse")
    assert (replaced.system_prompt, replaced.sampling) == ("Be very brief.", {"max_tokens": 128})
    assert [preset.name for preset in presets.list()] == ["Terse"]
    assert dialog.preset_names() == ["Terse"]


def test_deleting_a_preset_asks_and_removes_it(
    qtbot, open_dialog: OpenDialog, presets: PresetRepository, answers: dict[str, list[Any]]
) -> None:
    presets.save("Keep", "Keep me.", {})
    presets.save("Old", "Remove me.", {"seed": 7})
    dialog = open_dialog()
    dialog.preset_box.setCurrentText("Old")

    answers["replies"].append(CANCEL)
    click(qtbot, dialog.delete_button)
    assert [preset.name for preset in presets.list()] == ["Keep", "Old"]

    answers["replies"].append(YES)
    with qtbot.waitSignal(dialog.refreshed, timeout=TIMEOUT_MS):
        click(qtbot, dialog.delete_button)
    assert [preset.name for preset in presets.list()] == ["Keep"]
    assert dialog.preset_names() == ["Keep"]
    assert dialog.notice.message == "Deleted the preset 'Old'."
    assert len(answers["asked"]) == 2 and "Old" in answers["asked"][1]


def test_an_empty_preset_name_says_so_and_stores_nothing(
    qtbot, open_dialog: OpenDialog, presets: PresetRepository, answers: dict[str, list[Any]]
) -> None:
    dialog = open_dialog(ConversationParameters("Something", {"temperature": 1.0}))
    answers["names"].append(("   ", True))
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: dialog.notice.is_error, timeout=TIMEOUT_MS)
    assert dialog.notice.isVisible()
    assert dialog.notice.message == "A preset needs a name."
    assert presets.list() == []
    assert dialog.save_button.isEnabled()  # the user can try again

    answers["names"].append(("ignored", False))  # Cancel in the name box: nothing happens
    click(qtbot, dialog.save_button)
    assert presets.list() == []


def test_a_save_still_completes_when_the_dialog_is_deleted_first(
    qtbot, open_dialog: OpenDialog, presets: PresetRepository, answers: dict[str, list[Any]]
) -> None:
    dialog = open_dialog(ConversationParameters("Short answers."), close_at_teardown=False)
    answers["names"].append(("Brief", True))
    click(qtbot, dialog.save_button)
    shiboken6.delete(dialog)  # the window let go of it before the store answered
    qtbot.waitUntil(lambda: [preset.name for preset in presets.list()] == ["Brief"])
    QApplication.processEvents()  # the answer arrives for a dialog that is gone: no error


def test_every_control_is_named_and_reachable_by_keyboard(qtbot, open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    controls = [
        *dialog.findChildren(QAbstractSpinBox),
        *dialog.findChildren(QAbstractButton),
        *dialog.findChildren(QComboBox),
        *dialog.findChildren(QPlainTextEdit),
    ]
    for control in controls:
        name = control.accessibleName() or getattr(control, "text", lambda: "")()
        assert name, control
    assert dialog.drop_radio.accessibleName() == DROP_OLDEST
    assert dialog.stop_radio.accessibleName() == STOP_AND_ASK

    # Every field has a label that focuses it, and no two share a mnemonic.
    labelled = {label.buddy() for label in dialog.findChildren(QLabel) if label.buddy()}
    assert dialog.prompt_edit in labelled and dialog.preset_box in labelled
    assert set(dialog.spins.values()) <= labelled
    texts = [label.text() for label in dialog.findChildren(QLabel) if label.buddy()]
    texts += [button.text() for button in dialog.findChildren(QAbstractButton)]
    mnemonics = [m.lower() for text in texts for m in re.findall(r"&(\w)", text)]
    assert len(mnemonics) == len(set(mnemonics)) >= 15

    # Tab goes top to bottom: presets, prompt, each field then its Default box, the policy.
    dialog.activateWindow()
    dialog.preset_box.setFocus()
    qtbot.waitUntil(dialog.preset_box.hasFocus, timeout=TIMEOUT_MS)
    expected: list[QWidget] = [dialog.save_button, dialog.prompt_edit]  # no presets: Apply and
    # Delete are off, so Tab skips them
    for name in ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens"):
        expected += [dialog.spins[name], dialog.default_boxes[name]]
    expected += [dialog.spins["seed"], dialog.default_boxes["seed"], dialog.drop_radio]
    expected += [dialog.reset_button]  # then OK and Cancel, in the platform's order
    for widget in expected:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is widget, widget.accessibleName()
