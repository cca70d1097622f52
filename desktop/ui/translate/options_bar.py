"""What a translation is asked for: from which language (detected, or chosen), into which
(required: a common one picked, or any typed by name or code), the tone, and the glossary.
A target Lantern does not know is said under the bar, and no translation starts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import LanternError
from desktop.tasks.glossary import Glossary
from desktop.tasks.languages import COMMON_LANGUAGES, Language, find_language
from desktop.ui.translate.glossary_dialog import GlossaryDialog
from desktop.ui.widgets.notice import Notice

if TYPE_CHECKING:
    from desktop.ui.bridge import BackgroundTasks

DETECT = "Detect automatically"
TONES = ("", "formal", "informal")


class TranslationOptionsBar(QWidget):
    glossary_changed = Signal()

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._glossary = Glossary()
        self.glossary_dialog: GlossaryDialog | None = None

        self.from_box = QComboBox()
        self.from_box.setAccessibleName("Translate from")
        self.from_box.addItem(DETECT, None)
        for language in COMMON_LANGUAGES:
            self.from_box.addItem(language.name, language)
        self.target_notice = Notice()
        self.target_notice.setAccessibleName("Target language message")
        self.to_box = QComboBox()
        self.to_box.setAccessibleName("Translate to")
        self.to_box.setEditable(True)
        self.to_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for language in COMMON_LANGUAGES:
            self.to_box.addItem(language.name, language)
        self.to_box.setCurrentIndex(-1)
        _set_placeholder(self.to_box, "Language or code")
        self.to_box.editTextChanged.connect(lambda _text: self.target_notice.clear_message())
        self.tone_box = QComboBox()
        self.tone_box.setAccessibleName("Tone")
        self.tone_box.setEditable(True)
        self.tone_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.tone_box.addItems(TONES)
        _set_placeholder(self.tone_box, "Any tone")
        self.tone_box.setMinimumContentsLength(9)
        self.to_box.setMinimumContentsLength(12)
        self.glossary_button = QPushButton()
        self.glossary_button.setAccessibleName("Glossary")
        self.glossary_button.clicked.connect(lambda _checked=False: self.edit_glossary())

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for text, box in (
            ("&From:", self.from_box),
            ("&To:", self.to_box),
            ("T&one:", self.tone_box),
        ):
            label = QLabel(text)
            label.setBuddy(box)
            row.addWidget(label)
            row.addWidget(box)
        row.addWidget(self.glossary_button)
        row.addStretch(1)
        self.row = row  # the page adds its model picker at the end
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.target_notice)
        self._show_glossary_count()

    # ---- languages ----

    def show_detected(self, language: Language | None, *, has_text: bool) -> None:
        if not has_text:
            label = DETECT
        elif language is None:
            label = f"{DETECT} (not sure yet)"
        else:
            label = f"{DETECT} ({language.name})"
        self.from_box.setItemText(0, label)

    def source_language(self) -> Language | None:
        """The language chosen, or None to let the translator detect it."""
        return self.from_box.currentData()

    def set_source_language(self, code: str | None) -> None:
        if code is None:
            self.from_box.setCurrentIndex(0)
            return
        for index in range(1, self.from_box.count()):
            if self.from_box.itemData(index).code == code:
                self.from_box.setCurrentIndex(index)
                return
        try:
            language = find_language(code)
        except LanternError:
            self.from_box.setCurrentIndex(0)
            return
        self.from_box.addItem(language.name, language)
        self.from_box.setCurrentIndex(self.from_box.count() - 1)

    def target_language(self) -> Language | None:
        """The language to translate into; None (and a message under the bar) when it is
        missing or unknown."""
        text = self.to_box.currentText().strip()
        if not text:
            self.target_notice.show_error("Choose the language to translate into.")
            return None
        index = self.to_box.findText(text, Qt.MatchFlag.MatchFixedString)
        if index >= 0:
            return self.to_box.itemData(index)
        try:
            return find_language(text)
        except LanternError as exc:
            self.target_notice.show_error(exc)
            return None

    def set_target_language(self, code: str) -> None:
        try:
            name = find_language(code).name
        except LanternError:
            name = code
        index = self.to_box.findText(name, Qt.MatchFlag.MatchFixedString)
        if index >= 0:
            self.to_box.setCurrentIndex(index)
        else:
            self.to_box.setEditText(name)

    # ---- tone ----

    def tone(self) -> str:
        return self.tone_box.currentText().strip()

    def set_tone(self, tone: str) -> None:
        index = self.tone_box.findText(tone)
        if index >= 0:
            self.tone_box.setCurrentIndex(index)
        else:
            self.tone_box.setEditText(tone)

    # ---- glossary ----

    def glossary(self) -> Glossary:
        return self._glossary

    def set_glossary(self, glossary: Glossary) -> None:
        self._glossary = glossary
        self._show_glossary_count()
        self.glossary_changed.emit()

    def edit_glossary(self) -> GlossaryDialog:
        """Open the editor (not blocking); OK keeps its rows as the glossary."""
        dialog = GlossaryDialog(self._glossary, self._tasks, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda result: self._glossary_edited(dialog, result))
        self.glossary_dialog = dialog
        dialog.open()
        return dialog

    def _glossary_edited(self, dialog: GlossaryDialog, result: int) -> None:
        if result == QDialog.DialogCode.Accepted:
            self.set_glossary(dialog.glossary())
        self.glossary_dialog = None

    def _show_glossary_count(self) -> None:
        count = len(self._glossary.terms)
        if count:
            self.glossary_button.setText(f"&Glossary ({count} term{'s' if count != 1 else ''})…")
        else:
            self.glossary_button.setText("&Glossary…")

    def set_enabled_for_run(self, running: bool) -> None:
        for widget in (self.from_box, self.to_box, self.tone_box, self.glossary_button):
            widget.setEnabled(not running)


def _set_placeholder(box: QComboBox, text: str) -> None:
    line = box.lineEdit()
    assert line is not None  # an editable box has its line
    line.setPlaceholderText(text)
