"""The summary's options as controls: length (with a target word count), format, audience or
tone, output language, what to focus on, and the model that writes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from desktop.tasks.languages import COMMON_LANGUAGES
from desktop.tasks.summary import SummaryOptions
from desktop.ui.widgets.model_picker import ModelPicker

if TYPE_CHECKING:
    from desktop.services.models import ModelOption

LENGTH_CHOICES = (
    ("One sentence", "sentence"),
    ("Short", "short"),
    ("Detailed", "detailed"),
    ("Target word count", "words"),
)
FORMAT_CHOICES = (
    ("Paragraph", "paragraph"),
    ("Bullet points", "bullets"),
    ("Key points + action items", "keypoints"),
    ("TL;DR", "tldr"),
)
SAME_LANGUAGE = "Same as the document"
DEFAULT_WORDS = 150
MIN_WORDS, MAX_WORDS = 5, 3000  # what SummaryOptions accepts


class SummaryOptionsBar(QWidget):
    changed = Signal()  # any option, or the model

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.length = QComboBox()
        self.length.setAccessibleName("Length")
        for label, value in LENGTH_CHOICES:
            self.length.addItem(label, value)
        self.length.setCurrentIndex(self.length.findData("short"))
        self.words = QSpinBox()
        self.words.setAccessibleName("Target word count")
        self.words.setRange(MIN_WORDS, MAX_WORDS)
        self.words.setValue(DEFAULT_WORDS)
        self.words.setSuffix(" words")
        self.format = QComboBox()
        self.format.setAccessibleName("Format")
        for label, value in FORMAT_CHOICES:
            self.format.addItem(label, value)
        self.tone = QLineEdit()
        self.tone.setAccessibleName("Audience or tone")
        self.tone.setPlaceholderText("e.g. for a ten-year-old, formal")
        self.language = QComboBox()
        self.language.setAccessibleName("Output language")
        self.language.setEditable(True)
        self.language.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.language.addItem(SAME_LANGUAGE)
        self.language.addItems([language.name for language in COMMON_LANGUAGES])
        self.focus = QLineEdit()
        self.focus.setAccessibleName("Focus on")
        self.focus.setPlaceholderText("Focus on… (optional)")
        self.model_picker = ModelPicker()

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        rows = (
            (("&Length", self.length, self.words), ("&Format", self.format, None)),
            (("Audience or &tone", self.tone, None), ("Output lan&guage", self.language, None)),
            (("Focus o&n", self.focus, None), ("&Model", self.model_picker, None)),
        )
        for row, pairs in enumerate(rows):
            column = 0
            for text, control, extra in pairs:
                caption = QLabel(text)
                caption.setBuddy(control)
                grid.addWidget(caption, row, column)
                if extra is None:
                    grid.addWidget(control, row, column + 1, 1, 2)
                else:
                    grid.addWidget(control, row, column + 1)
                    grid.addWidget(extra, row, column + 2)
                column += 3
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(4, 1)

        self._update_words()
        self.length.currentIndexChanged.connect(self._update_words)
        for box in (self.length, self.format, self.model_picker):
            box.currentIndexChanged.connect(self.changed)
        self.words.valueChanged.connect(self.changed)
        self.language.currentTextChanged.connect(self.changed)
        for edit in (self.tone, self.focus):
            edit.textChanged.connect(self.changed)

    # ---- the options ----

    def options(self) -> SummaryOptions:
        length = self.length.currentData()
        language = self.language.currentText().strip()
        return SummaryOptions(
            length=length,
            words=self.words.value() if length == "words" else None,
            format=self.format.currentData(),
            tone=self.tone.text().strip(),
            language="" if language in ("", SAME_LANGUAGE) else language,
            focus=self.focus.text().strip(),
        )

    def set_options(self, options: SummaryOptions) -> None:
        self.length.setCurrentIndex(max(0, self.length.findData(options.length)))
        if options.words:
            self.words.setValue(options.words)
        self.format.setCurrentIndex(max(0, self.format.findData(options.format)))
        self.tone.setText(options.tone)
        self.language.setCurrentText(options.language or SAME_LANGUAGE)
        self.focus.setText(options.focus)

    def _update_words(self) -> None:
        self.words.setEnabled(self.length.currentData() == "words")

    # ---- the model ----

    def model_id(self) -> str | None:
        return self.model_picker.currentData()

    def set_models(self, models: list[ModelOption], default_id: str | None) -> None:
        """The models to choose from; the one chosen stays chosen while it is listed."""
        self.model_picker.show_models(models, default_id)
        self.changed.emit()

    def choose_model(self, model_id: str | None) -> None:
        """Pick `model_id` if it is listed (a saved summary's model may no longer be)."""
        self.model_picker.choose(model_id)


def describe_options(options: dict[str, object]) -> str:
    """The options as a column heading: "short, bullet points, in French"."""
    try:
        parsed = SummaryOptions.from_dict(options)
    except Exception:  # an old or damaged row: show it, without a heading
        return ""
    lengths = {value: label.lower() for label, value in LENGTH_CHOICES}
    formats = {value: label.lower() for label, value in FORMAT_CHOICES}
    formats["tldr"] = "TL;DR"
    parts = [
        f"{parsed.words} words" if parsed.length == "words" else lengths[parsed.length],
        formats[parsed.format],
    ]
    if parsed.language:
        parts.append(f"in {parsed.language}")
    if parsed.tone:
        parts.append(parsed.tone)
    if parsed.focus:
        parts.append(f"focus: {parsed.focus}")
    return ", ".join(parts)
