"""Every sampling setting llama.cpp offers, each explained on hover; an output constraint (a
JSON schema or a GBNF grammar); how many alternatives to show per token; and presets: apply,
save, delete, and reset to the model's own recommendations. The page reads and writes the
presets in the background; this panel only shows them and says what the user asked.

What the side's model cannot do (a remote server's limits) is greyed out with the reason, and
left out of the parameters a run gets; the values stay, for a model that can."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.engine.protocol import OutputConstraint, Sampling
from desktop.engine.text_model import LOCAL_CAPABILITIES, Capabilities
from desktop.services.playground_parameters import MAX_ALTERNATIVES, PlaygroundParameters
from desktop.tasks.sampling_fields import SAMPLING_FIELDS
from desktop.ui.widgets.sampling_spin_box import (
    SamplingSpinBox,
    sampling_spin_box,
    show_in_spin_box,
    spin_box_value,
)

# The Playground's own controls; each sampling field's hint is the table's.
HELP = {
    "stop": "Text that ends the answer where it appears (not included). One per line; "
    "write \\n for a line break.",
    "constraint": "Hold the answer to a shape: a JSON schema (the answer is JSON that fits "
    "it) or a GBNF grammar (llama.cpp's grammar format).",
    "alternatives": "How many of the most likely tokens to show for each token of the "
    "answer (hover a token). 0 shows plain text and runs a little faster.",
}
CONSTRAINT_KINDS = (("None", None), ("JSON schema", "json_schema"), ("GBNF grammar", "grammar"))


def constraint_reason(capabilities: Capabilities, kind: str | None) -> str | None:
    """Why the model cannot hold its output to a constraint of `kind`; None: it can."""
    if kind == "json_schema":
        return capabilities.json_schema
    return capabilities.grammar if kind == "grammar" else None


class ParametersPanel(QScrollArea):
    changed = Signal()
    preset_chosen = Signal(str)
    save_preset_requested = Signal(str)
    delete_preset_requested = Signal(str)
    reset_requested = Signal()  # to the model's recommendations

    def __init__(self, title: str = "Parameters", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setAccessibleName(title)
        # A spin box for every sampling field but Mirostat, which is a choice of versions.
        self._fields: dict[str, SamplingSpinBox] = {
            name: sampling_spin_box(field)
            for name, field in SAMPLING_FIELDS.items()
            if name != "mirostat"
        }
        self.mirostat = QComboBox()
        mirostat = SAMPLING_FIELDS["mirostat"]
        for version in range(int(mirostat.low), int(mirostat.high) + 1):
            self.mirostat.addItem(f"Mirostat {version}" if version else "Off", version)
        self.stop = QPlainTextEdit()
        self.stop.setFixedHeight(54)
        self.constraint_kind = QComboBox()
        for label, kind in CONSTRAINT_KINDS:
            self.constraint_kind.addItem(label, kind)
        self.constraint_text = QPlainTextEdit()
        self.constraint_text.setPlaceholderText('{"type": "object", "properties": {…}}')
        self.constraint_text.setMinimumHeight(80)
        self.alternatives = QSpinBox()
        self.alternatives.setRange(0, MAX_ALTERNATIVES)
        self.capabilities = LOCAL_CAPABILITIES  # of the side's model

        self.presets = QComboBox()
        self.presets.setAccessibleName("Preset")
        self.presets.setPlaceholderText("Presets")
        self.save_preset_button = QPushButton("Save…")
        self.save_preset_button.setAccessibleName("Save preset")
        self.delete_preset_button = QPushButton("Delete")
        self.delete_preset_button.setAccessibleName("Delete preset")
        self.reset_button = QPushButton("Model defaults")
        self.reset_button.setAccessibleName("Reset to the model's defaults")
        self.reset_button.setToolTip(
            "Back to Lantern's defaults under what the model's makers recommend in its file"
        )
        self._build(title)
        self._connect()
        self.set_parameters(PlaygroundParameters())

    def _build(self, title: str) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(QLabel(f"<b>{title}</b>"))
        presets = QHBoxLayout()
        presets.addWidget(self.presets, 1)
        presets.addWidget(self.save_preset_button)
        presets.addWidget(self.delete_preset_button)
        layout.addLayout(presets)
        layout.addWidget(self.reset_button)
        form = QFormLayout()
        for name, field in SAMPLING_FIELDS.items():  # in the table's order
            self._add_row(form, field.label, self._fields.get(name, self.mirostat), field.hint)
        self._add_row(form, "Stop sequences", self.stop, HELP["stop"])
        self._add_row(form, "Output shape", self.constraint_kind, HELP["constraint"])
        form.addRow(self.constraint_text)
        self._add_row(form, "Alternatives per token", self.alternatives, HELP["alternatives"])
        layout.addLayout(form)
        layout.addStretch(1)
        self.setWidget(body)

    @staticmethod
    def _add_row(form: QFormLayout, label: str, field: QWidget, hint: str) -> None:
        field.setAccessibleName(label)
        field.setToolTip(hint)
        caption = QLabel(label)
        caption.setToolTip(hint)
        form.addRow(caption, field)

    def _connect(self) -> None:
        for box in self._fields.values():
            box.valueChanged.connect(lambda _value: self.changed.emit())
        for combo in (self.mirostat, self.constraint_kind):
            combo.currentIndexChanged.connect(lambda _index: self._update_enabled())
            combo.currentIndexChanged.connect(lambda _index: self.changed.emit())
        self.stop.textChanged.connect(self.changed.emit)
        self.constraint_text.textChanged.connect(self.changed.emit)
        self.alternatives.valueChanged.connect(lambda _value: self.changed.emit())
        self.presets.activated.connect(
            lambda index: self.preset_chosen.emit(self.presets.itemText(index))
        )
        self.save_preset_button.clicked.connect(lambda _checked=False: self._ask_preset_name())
        self.delete_preset_button.clicked.connect(lambda _checked=False: self._delete_preset())
        self.reset_button.clicked.connect(lambda _checked=False: self.reset_requested.emit())

    def set_capabilities(self, capabilities: Capabilities) -> None:
        """What the side's model can do: the rest greyed out with the reason, and not sent."""
        if capabilities == self.capabilities:
            return
        self.capabilities = capabilities
        self.alternatives.setEnabled(capabilities.logprobs is None)
        self.alternatives.setToolTip(capabilities.logprobs or HELP["alternatives"])
        kinds = self.constraint_kind.model()
        assert isinstance(kinds, QStandardItemModel)  # a QComboBox's own
        for row, (_label, kind) in enumerate(CONSTRAINT_KINDS):
            reason = constraint_reason(capabilities, kind)
            item = kinds.item(row)
            item.setEnabled(reason is None)
            item.setToolTip(reason or "")
        self._update_enabled()
        self.changed.emit()

    def left_out(self) -> list[str]:
        """What was set here that the side's model cannot do, and why: not sent."""
        kind = self.constraint_kind.currentData()
        reasons = []
        if self.alternatives.value() and self.capabilities.logprobs:
            reasons.append(f"Alternatives per token are not shown: {self.capabilities.logprobs}")
        if (reason := constraint_reason(self.capabilities, kind)) and self._constraint_text():
            reasons.append(f"The output shape is left out: {reason}")
        return reasons

    def _update_enabled(self) -> None:
        mirostat = self.mirostat.currentData() != 0
        for name in ("top_k", "top_p", "min_p", "typical_p"):
            self._fields[name].setEnabled(not mirostat)
        for name in ("mirostat_tau", "mirostat_eta"):
            self._fields[name].setEnabled(mirostat)
        kind = self.constraint_kind.currentData()
        reason = constraint_reason(self.capabilities, kind)
        self.constraint_kind.setToolTip(reason or HELP["constraint"])
        self.constraint_text.setEnabled(reason is None)
        self.constraint_text.setToolTip(reason or "")
        self.constraint_text.setVisible(kind is not None)
        self.constraint_text.setPlaceholderText(
            'root ::= "yes" | "no"'
            if self.constraint_kind.currentData() == "grammar"
            else '{"type": "object", "properties": {"name": {"type": "string"}}}'
        )
        self.delete_preset_button.setEnabled(self.presets.currentIndex() >= 0)

    # ---- values ----

    def parameters(self) -> PlaygroundParameters:
        values: dict[str, Any] = {name: spin_box_value(box) for name, box in self._fields.items()}
        stops = tuple(
            line.replace("\\n", "\n") for line in self.stop.toPlainText().splitlines() if line
        )
        sampling = Sampling(**values, mirostat=int(self.mirostat.currentData()), stop=stops)
        kind = self.constraint_kind.currentData()
        text = self._constraint_text()
        can = self.capabilities
        constraint = (
            OutputConstraint(kind, text) if text and constraint_reason(can, kind) is None else None
        )
        alternatives = self.alternatives.value() if can.logprobs is None else 0
        return PlaygroundParameters(sampling, constraint, alternatives)

    def _constraint_text(self) -> str:
        """The constraint written for the kind chosen ('' for none)."""
        text = self.constraint_text.toPlainText()
        return text if self.constraint_kind.currentData() is not None and text.strip() else ""

    def set_parameters(self, parameters: PlaygroundParameters) -> None:
        sampling = parameters.sampling
        self.blockSignals(True)
        for name, box in self._fields.items():
            show_in_spin_box(box, getattr(sampling, name))
        self.mirostat.setCurrentIndex(max(0, self.mirostat.findData(sampling.mirostat)))
        self.stop.setPlainText("\n".join(s.replace("\n", "\\n") for s in sampling.stop))
        constraint = parameters.constraint
        self.constraint_kind.setCurrentIndex(
            self.constraint_kind.findData(constraint.kind) if constraint else 0
        )
        self.constraint_text.setPlainText(constraint.text if constraint else "")
        self.alternatives.setValue(parameters.alternatives)
        self.blockSignals(False)
        self._update_enabled()
        self.changed.emit()

    def summary(self) -> str:
        """One line: the settings that matter most, to label an answer with."""
        p = self.parameters()
        s = p.sampling
        parts = [f"temp {s.temperature:g}"]
        if s.mirostat:
            parts.append(f"mirostat {s.mirostat} τ{s.mirostat_tau:g}")
        else:
            parts += [f"top-k {s.top_k}", f"top-p {s.top_p:g}", f"min-p {s.min_p:g}"]
        parts.append(f"seed {s.seed}" if s.seed is not None else "random seed")
        if p.constraint:
            parts.append("JSON schema" if p.constraint.kind == "json_schema" else "grammar")
        return " · ".join(parts)

    # ---- presets ----

    def show_presets(self, names: Sequence[str], current: str | None = None) -> None:
        self.presets.blockSignals(True)
        self.presets.clear()
        self.presets.addItems(list(names))
        self.presets.setCurrentIndex(self.presets.findText(current) if current else -1)
        self.presets.blockSignals(False)
        self._update_enabled()

    def _ask_preset_name(self) -> None:
        name, ok = QInputDialog.getText(
            self, "Save preset", "Name of the preset:", text=self.presets.currentText()
        )
        if ok and name.strip():
            self.save_preset_requested.emit(name.strip())

    def _delete_preset(self) -> None:
        if self.presets.currentIndex() >= 0:
            self.delete_preset_requested.emit(self.presets.currentText())
