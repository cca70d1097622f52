"""The conversation settings dialog: one conversation's system prompt, sampling and context
policy, and named presets (system prompt + sampling) to apply, save, overwrite and delete.

The dialog edits a copy: `parameters()` is the result, and the window writes it with
`ChatService.set_parameters` after OK (a new chat keeps it until its first message). Presets
are read and written through the window's BackgroundTasks; the dialog shows what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services.chat import ConversationParameters, default_sampling
from desktop.settings import Settings
from desktop.tasks.sampling_fields import SAMPLING_FIELDS
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.sampling_spin_box import (
    SamplingSpinBox,
    sampling_spin_box,
    show_in_spin_box,
    spin_box_value,
)

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.store.presets import PresetRecord
    from desktop.ui.bridge import BackgroundTasks

DROP_OLDEST = "Drop the oldest messages (keep the system prompt and the latest)"
STOP_AND_ASK = "Stop and ask me"


# The fields the dialog shows, in its order, each with the letter of its Alt+ shortcut (one
# no other label or button of the dialog has); their ranges and hints are the table's.
FIELD_KEYS = (
    ("temperature", "T"),
    ("top_p", "o"),
    ("top_k", "k"),
    ("min_p", "M"),
    ("repeat_penalty", "R"),
    ("max_tokens", "x"),
    ("seed", "e"),
)


def _with_mnemonic(label: str, key: str) -> str:
    at = label.index(key)
    return f"{label[:at]}&{label[at:]}"


class ConversationSettingsDialog(QDialog):
    """System prompt & parameters. OK accepts, Cancel or Escape discards; Ctrl+Enter is OK."""

    refreshed = Signal()  # the presets (and the app's defaults) show what the store holds now

    def __init__(
        self,
        lantern: Lantern,
        tasks: BackgroundTasks,
        parameters: ConversationParameters,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._lantern = lantern
        self._tasks = tasks
        self._defaults = default_sampling(Settings())  # until the user's settings are read
        self._overrides: dict[str, Any] = dict(parameters.sampling)  # what the user set
        self._presets: dict[str, PresetRecord] = {}
        self._build()
        self.prompt_edit.setPlainText(parameters.system_prompt)
        self._show_sampling()
        policy = self.stop_radio if parameters.context_policy == "stop" else self.drop_radio
        policy.setChecked(True)
        self.refresh()

    # ---- layout ----

    def _build(self) -> None:
        self.setWindowTitle("System prompt and parameters")

        self.preset_box = QComboBox()
        self.preset_box.setAccessibleName("Preset")
        self.preset_box.setPlaceholderText("No presets yet")
        self.preset_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.apply_button = self._button("Appl&y", "Apply preset", self.apply_preset)
        self.save_button = self._button("Sa&ve as preset…", "Save as preset", self.save_preset)
        self.delete_button = self._button("De&lete preset", "Delete preset", self.delete_preset)
        presets = QHBoxLayout()
        presets.addWidget(self._label("&Preset:", self.preset_box))
        for control in (self.preset_box, self.apply_button, self.save_button, self.delete_button):
            presets.addWidget(control)

        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setAccessibleName("System prompt")
        self.prompt_edit.setPlaceholderText("For example: You are a patient tutor. Answer briefly.")
        self.prompt_edit.setTabChangesFocus(True)  # Tab moves on, as everywhere else here
        self.prompt_edit.setMinimumHeight(self.fontMetrics().lineSpacing() * 6)

        self.spins: dict[str, SamplingSpinBox] = {}
        self.default_boxes: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for row, (name, key) in enumerate(FIELD_KEYS):
            field = SAMPLING_FIELDS[name]
            spin = sampling_spin_box(field)
            spin.valueChanged.connect(partial(self._value_edited, name))
            box = QCheckBox("Default")
            box.setAccessibleName(f"Use the default {field.label.lower()}")
            box.toggled.connect(partial(self._default_toggled, name))
            grid.addWidget(self._label(f"{_with_mnemonic(field.label, key)}:", spin), row, 0)
            grid.addWidget(spin, row, 1)
            grid.addWidget(box, row, 2)
            self.spins[name], self.default_boxes[name] = spin, box
        grid.setColumnStretch(1, 1)
        sampling = QGroupBox("Sampling (fields marked Default follow the app's settings)")
        sampling.setLayout(grid)

        self.drop_radio = QRadioButton(f"&{DROP_OLDEST}")
        self.drop_radio.setAccessibleName(DROP_OLDEST)
        self.stop_radio = QRadioButton("Stop &and ask me")
        self.stop_radio.setAccessibleName(STOP_AND_ASK)
        policy = QGroupBox("When the conversation no longer fits the model's context")
        policy_layout = QVBoxLayout(policy)
        policy_layout.addWidget(self.drop_radio)
        policy_layout.addWidget(self.stop_radio)

        self.notice = Notice()
        self.notice.setAccessibleName("Message")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.reset_button = self._button("Reset to de&faults", "Reset to defaults", self.reset)
        self.buttons.addButton(self.reset_button, QDialogButtonBox.ButtonRole.ResetRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)  # Escape rejects too (QDialog)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):  # Enter alone is a new line in the prompt
            QShortcut(QKeySequence(keys), self, self.accept)

        # Widgets join the focus chain in the order they are laid out: Tab goes top to bottom.
        layout = QVBoxLayout(self)
        layout.addLayout(presets)
        layout.addWidget(self._label("&System prompt (followed throughout):", self.prompt_edit))
        layout.addWidget(self.prompt_edit, 1)
        for widget in (sampling, policy, self.notice, self.buttons):
            layout.addWidget(widget)
        QWidget.setTabOrder(self.stop_radio, self.reset_button)  # where it shows: before OK
        self._set_busy(True)  # until the presets are read

    def _label(self, text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)  # its mnemonic (Alt+letter) focuses the field
        return label

    def _button(self, text: str, name: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(name)
        button.setAutoDefault(False)  # Enter in a field means OK, not this button
        button.clicked.connect(slot)
        return button

    # ---- the values ----

    def parameters(self) -> ConversationParameters:
        """What the dialog shows now: the prompt, the overridden fields only, the policy."""
        return ConversationParameters(
            self.prompt_edit.toPlainText().strip(),
            dict(self._overrides),
            "stop" if self.stop_radio.isChecked() else "drop_middle",
        )

    def reset(self) -> None:
        """No system prompt, no overrides, drop the oldest messages; OK still has to confirm."""
        self._set_prompt("")
        self._overrides = {}
        self._show_sampling()
        self.drop_radio.setChecked(True)

    def _set_prompt(self, text: str) -> None:
        # One edit, not setPlainText, so that Ctrl+Z in the prompt brings the old one back.
        cursor = self.prompt_edit.textCursor()
        cursor.beginEditBlock()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        cursor.endEditBlock()

    def _show_sampling(self) -> None:
        """Every field shows its override, else the app's default; programmatic, so the
        blockers keep it from counting as the user's change."""
        for name, spin in self.spins.items():
            value = self._overrides.get(name, self._defaults.get(name))
            with QSignalBlocker(spin), QSignalBlocker(self.default_boxes[name]):
                show_in_spin_box(spin, value)
                self.default_boxes[name].setChecked(name not in self._overrides)

    def _value_edited(self, name: str, _shown: float) -> None:
        value = spin_box_value(self.spins[name])
        if value is None:
            self._overrides.pop(name, None)  # Random is what every conversation gets anyway
        else:
            self._overrides[name] = value
        with QSignalBlocker(self.default_boxes[name]):
            self.default_boxes[name].setChecked(name not in self._overrides)

    def _default_toggled(self, name: str, use_default: bool) -> None:
        if use_default:
            self._overrides.pop(name, None)
        else:  # keep what it shows, as the conversation's own value (a fixed seed: 0)
            value = spin_box_value(self.spins[name])
            self._overrides[name] = int(SAMPLING_FIELDS[name].low) if value is None else value
        self._show_sampling()

    # ---- presets ----

    def refresh(self, select: str | None = None) -> None:
        """Read the presets (and the app's defaults) again; then show `select`, if given."""
        lantern = self._lantern  # only named here; its parts are looked up in the worker
        self._run(
            lambda: (default_sampling(lantern.settings), lantern.history.presets.list()),
            lambda read: self._show_presets(read[0], read[1], select),
        )

    def preset_names(self) -> list[str]:
        return [self.preset_box.itemText(i) for i in range(self.preset_box.count())]

    def _show_presets(
        self, defaults: dict[str, Any], presets: list[PresetRecord], select: str | None
    ) -> None:
        if defaults != self._defaults:  # the user's settings differ from the built-in ones
            self._defaults = defaults
            self._show_sampling()
        keep = select or self.preset_box.currentText()
        self._presets = {preset.name: preset for preset in presets}
        self.preset_box.clear()
        self.preset_box.addItems(list(self._presets))
        self.preset_box.setCurrentIndex(max(self.preset_box.findText(keep), 0) if presets else -1)
        self._set_busy(False)
        self.refreshed.emit()

    def apply_preset(self) -> None:
        """Fill the fields from the chosen preset; the conversation changes only on OK."""
        preset = self._presets.get(self.preset_box.currentText())
        if preset is None:
            return
        self._set_prompt(preset.system_prompt or "")
        self._overrides = {k: v for k, v in preset.sampling.items() if k in SAMPLING_FIELDS}
        self._show_sampling()
        self.notice.show_info(f"Applied the preset '{preset.name}'. Press OK to use it.")

    def save_preset(self) -> None:
        name, ok = QInputDialog.getText(
            self,
            "Save as preset",
            "Preset name (it keeps the system prompt and the sampling settings):",
            QLineEdit.EchoMode.Normal,
            self.preset_box.currentText(),  # updating the chosen preset is one Enter away
        )
        if not ok:
            return
        name = name.strip()
        if name in self._presets and not self._confirm(
            "Replace preset", f"A preset called '{name}' exists. Replace it with these settings?"
        ):
            return
        chosen = self.parameters()
        self._start()
        self._run(
            lambda: self._lantern.history.presets.save(
                name, chosen.system_prompt or None, chosen.sampling
            ),
            lambda saved: self._preset_changed(f"Saved the preset '{saved.name}'.", saved.name),
        )

    def delete_preset(self) -> None:
        name = self.preset_box.currentText()
        if name not in self._presets or not self._confirm(
            "Delete preset",
            f"Delete the preset '{name}'? Conversations that used it keep their settings.",
        ):
            return
        self._start()
        self._run(
            lambda: self._lantern.history.presets.delete(name),
            lambda _none: self._preset_changed(f"Deleted the preset '{name}'.", None),
        )

    def _confirm(self, title: str, question: str) -> bool:
        yes, cancel = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.Cancel
        return QMessageBox.question(self, title, question, yes | cancel, cancel) == yes

    def _start(self) -> None:
        self.notice.clear_message()
        self._set_busy(True)  # one save or delete at a time, and none until the list is fresh

    def _preset_changed(self, message: str, select: str | None) -> None:
        self.notice.show_info(message)
        self.refresh(select)  # the buttons come back with the new list

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.notice.show_error(error)

    def _set_busy(self, busy: bool) -> None:
        chosen = self.preset_box.currentIndex() >= 0 and not busy
        self.apply_button.setEnabled(chosen)
        self.delete_button.setEnabled(chosen)
        self.save_button.setEnabled(not busy)

    def _run(self, fn: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        """`fn` in the background, then `on_done(result)`; dropped if the dialog is deleted
        by then (the write itself still completes)."""

        def deliver(callback: Callable[[Any], None], value: Any) -> None:
            if shiboken6.isValid(self):
                callback(value)

        self._tasks.run(fn, partial(deliver, on_done), partial(deliver, self._failed))
