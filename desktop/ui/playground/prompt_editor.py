"""The Playground's prompt: raw completion (sent as written) or chat (a system prompt and a
user message, through the model's template); `{variables}` filled from a form that follows
the text; worked examples (input / output pairs) that make the prompt few-shot; the token
count; and, on demand, exactly the text the model is given.

Raw completion and the text the model is given are greyed out, with the reason, where the
model chosen cannot do them (a remote server that takes chats only, or applies the chat
template itself)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.services.playground_parameters import PlaygroundPrompt, PromptMode
from desktop.tasks.few_shot import Example, ExampleLabels, chat_few_shot, raw_few_shot
from desktop.tasks.prompt_template import fill_template, template_variables

RAW_HINT = "The prompt is sent exactly as written: no chat template"
PREVIEW_HINT = "The exact text the model is given, its chat template applied"


class PromptEditor(QWidget):
    changed = Signal()  # anything that changes what the model would be given

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.raw_button = QRadioButton("Raw completion")
        self.raw_button.setToolTip(RAW_HINT)
        self.chat_button = QRadioButton("Chat")
        self.chat_button.setToolTip("A system prompt and a message, in the model's chat template")
        self.raw_button.setChecked(True)
        modes = QButtonGroup(self)
        modes.addButton(self.raw_button)
        modes.addButton(self.chat_button)

        self.system_box = QPlainTextEdit()
        self.system_box.setAccessibleName("System prompt")
        self.system_box.setPlaceholderText("System prompt (optional)")
        self.system_box.setFixedHeight(56)
        self.prompt_box = QPlainTextEdit()
        self.prompt_box.setAccessibleName("Prompt")
        self.prompt_box.setPlaceholderText(
            "Write a prompt. {name} makes a variable you fill in below; {{name}} is the text "
            "{name} itself."
        )
        self.variables_form = QFormLayout()
        self._variable_fields: dict[str, QLineEdit] = {}
        self._kept_values: dict[str, str] = {}  # values of variables no longer in the text

        self.examples_check = QCheckBox("Few-shot: show the model worked examples first")
        self.examples_check.setAccessibleName("Use examples")
        self.examples_table = QTableWidget(0, 2)
        self.examples_table.setAccessibleName("Examples")
        self.examples_table.setHorizontalHeaderLabels(["Input", "Output"])
        self.examples_table.horizontalHeader().setStretchLastSection(True)
        self.examples_table.verticalHeader().hide()  # and with it the unnamed corner button
        self.examples_table.setMinimumHeight(90)
        self.add_example_button = QPushButton("Add example")
        self.remove_example_button = QPushButton("Remove example")
        self.input_label = QLineEdit("Input")
        self.input_label.setAccessibleName("Input label")
        self.output_label = QLineEdit("Output")
        self.output_label.setAccessibleName("Output label")

        self.count_label = QLabel("")
        self.count_label.setAccessibleName("Prompt tokens")
        self.preview_button = QPushButton("Show what the model gets")
        self.preview_button.setCheckable(True)
        self.preview_button.setToolTip(PREVIEW_HINT)
        self.preview_box = QPlainTextEdit()
        self.preview_box.setAccessibleName("What the model gets")
        self.preview_box.setReadOnly(True)
        self.preview_box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.preview_box.hide()
        self._build()
        self._connect()
        self._update_mode()

    def _build(self) -> None:
        modes = QHBoxLayout()
        modes.addWidget(self.raw_button)
        modes.addWidget(self.chat_button)
        modes.addStretch(1)
        modes.addWidget(self.count_label)
        modes.addWidget(self.preview_button)

        example_buttons = QHBoxLayout()
        example_buttons.addWidget(self.add_example_button)
        example_buttons.addWidget(self.remove_example_button)
        self.labels_row = QWidget()
        labels = QHBoxLayout(self.labels_row)
        labels.setContentsMargins(0, 0, 0, 0)
        labels.addWidget(QLabel("Labels:"))
        labels.addWidget(self.input_label)
        labels.addWidget(self.output_label)
        example_buttons.addWidget(self.labels_row)
        example_buttons.addStretch(1)
        self.examples_area = QWidget()
        examples = QVBoxLayout(self.examples_area)
        examples.setContentsMargins(0, 0, 0, 0)
        examples.addWidget(self.examples_table)
        examples.addLayout(example_buttons)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(modes)
        layout.addWidget(self.system_box)
        layout.addWidget(self.prompt_box, 2)
        layout.addLayout(self.variables_form)
        layout.addWidget(self.examples_check)
        layout.addWidget(self.examples_area, 1)
        layout.addWidget(self.preview_box, 2)

    def _connect(self) -> None:
        self.raw_button.toggled.connect(lambda _on: self._update_mode())
        self.system_box.textChanged.connect(self._text_changed)
        self.prompt_box.textChanged.connect(self._text_changed)
        self.examples_check.toggled.connect(lambda _on: self._update_mode())
        self.examples_table.itemChanged.connect(lambda _item: self.changed.emit())
        for field in (self.input_label, self.output_label):
            field.textChanged.connect(lambda _text: self.changed.emit())
        self.add_example_button.clicked.connect(lambda _checked=False: self.add_example())
        self.remove_example_button.clicked.connect(lambda _checked=False: self._remove_example())
        self.preview_button.toggled.connect(self.preview_box.setVisible)

    def _update_mode(self) -> None:
        chat = self.mode() == "chat"
        self.system_box.setVisible(chat)
        self.prompt_box.setAccessibleName("User message" if chat else "Prompt")
        self.examples_area.setVisible(self.examples_check.isChecked())
        self.labels_row.setVisible(not chat)
        self._text_changed()

    def _text_changed(self) -> None:
        self._update_variables()
        self.changed.emit()

    # ---- variables ----

    def _update_variables(self) -> None:
        """One field per variable in the text, in order; a value typed stays with its name."""
        names = template_variables(self.system_box.toPlainText() if self.mode() == "chat" else "")
        names += [n for n in template_variables(self.prompt_box.toPlainText()) if n not in names]
        if names == list(self._variable_fields):
            return
        for name, field in self._variable_fields.items():
            self._kept_values[name] = field.text()
        while self.variables_form.rowCount():
            self.variables_form.removeRow(0)
        self._variable_fields = {}
        for name in names:
            field = QLineEdit(self._kept_values.get(name, ""))
            field.setAccessibleName(f"Variable {name}")
            field.textChanged.connect(lambda _text: self.changed.emit())
            self.variables_form.addRow(f"{{{name}}}", field)
            self._variable_fields[name] = field

    def set_variable(self, name: str, value: str) -> None:
        self._variable_fields[name].setText(value)

    def variables(self) -> dict[str, str]:
        return {name: field.text() for name, field in self._variable_fields.items()}

    # ---- examples ----

    def add_example(self, example: Example | None = None) -> None:
        row = self.examples_table.rowCount()
        self.examples_table.insertRow(row)
        for column, text in enumerate((example.input, example.output) if example else ("", "")):
            self.examples_table.setItem(row, column, QTableWidgetItem(text))
        self.examples_check.setChecked(True)
        self.changed.emit()

    def _remove_example(self) -> None:
        row = self.examples_table.currentRow()
        if row >= 0:
            self.examples_table.removeRow(row)
            self.changed.emit()

    def examples(self) -> list[Example]:
        def cell(row: int, column: int) -> str:
            item = self.examples_table.item(row, column)
            return item.text() if item is not None else ""

        return [Example(cell(r, 0), cell(r, 1)) for r in range(self.examples_table.rowCount())]

    # ---- what the model is given ----

    def mode(self) -> PromptMode:
        return "chat" if self.chat_button.isChecked() else "raw"

    def has_text(self) -> bool:
        return bool(self.prompt_box.toPlainText().strip())

    def prompt(self) -> PlaygroundPrompt:
        """The prompt with its variables filled and its examples in (MissingVariables when a
        variable has no field value, which cannot happen from the form but can from a file)."""
        values = self.variables()
        text = fill_template(self.prompt_box.toPlainText(), values)
        examples = self.examples() if self.examples_check.isChecked() else []
        if self.mode() == "chat":
            system = fill_template(self.system_box.toPlainText(), values)
            messages = chat_few_shot(system, text, examples)
            return PlaygroundPrompt("chat", messages=messages, setup=self.setup())
        labels = ExampleLabels(
            self.input_label.text() or "Input", self.output_label.text() or "Output"
        )
        return PlaygroundPrompt(
            "raw", prompt=raw_few_shot(text, examples, labels), setup=self.setup()
        )

    def setup(self) -> dict[str, Any]:
        """The editor as written, to save with a run and show again when it is reopened."""
        return {
            "template": self.prompt_box.toPlainText(),
            "system": self.system_box.toPlainText(),
            "variables": self.variables(),
            "use_examples": self.examples_check.isChecked(),
            "examples": [[e.input, e.output] for e in self.examples()],
            "labels": [self.input_label.text(), self.output_label.text()],
        }

    def restore(self, mode: str, setup: dict[str, Any], prompt: str = "") -> None:
        """Show a saved run's prompt as it was written (`prompt` for runs saved without an
        editor, from the command line say)."""
        self.blockSignals(True)
        (self.chat_button if mode == "chat" else self.raw_button).setChecked(True)
        self._kept_values = dict(setup.get("variables") or {})
        self._variable_fields = {}
        while self.variables_form.rowCount():
            self.variables_form.removeRow(0)
        self.system_box.setPlainText(setup.get("system", ""))
        self.prompt_box.setPlainText(setup.get("template", prompt))
        self.examples_table.setRowCount(0)
        for example_input, example_output in setup.get("examples") or []:
            self.add_example(Example(example_input, example_output))
        self.examples_check.setChecked(bool(setup.get("use_examples")))
        labels = setup.get("labels") or ["Input", "Output"]
        self.input_label.setText(labels[0])
        self.output_label.setText(labels[1])
        self.blockSignals(False)
        self._update_mode()

    # ---- what the model can do ----

    def allow_raw(self, reason: str | None) -> None:
        """Raw completion greyed out with `reason` (None: offered). A raw prompt becomes a
        chat then, its text kept."""
        self.raw_button.setEnabled(reason is None)
        self.raw_button.setToolTip(reason or RAW_HINT)
        if reason is not None and self.raw_button.isChecked():
            self.chat_button.setChecked(True)

    def allow_preview(self, reason: str | None) -> None:
        """ "Show what the model gets" greyed out with `reason` (None: offered)."""
        self.preview_button.setEnabled(reason is None)
        self.preview_button.setToolTip(reason or PREVIEW_HINT)
        if reason is not None:
            self.preview_button.setChecked(False)

    def show_count(self, text: str, tooltip: str = "") -> None:
        self.count_label.setText(text)
        self.count_label.setToolTip(tooltip)

    def show_preview(self, text: str) -> None:
        self.preview_box.setPlainText(text)
