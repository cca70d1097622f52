"""The Translate page: a document in (typed, pasted, dropped or opened), its translation out,
side by side and segment by segment, with the saved sessions to the left.

The translation itself runs in a TaskRun thread; reads and writes of the store (the history,
a session, an edit, an export) and language detection run through the window's
BackgroundTasks. Nothing here blocks the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.services.translate import (
    SegmentDone,
    SegmentPiece,
    SegmentStarted,
    TranslationOptions,
    TranslationOutcome,
)
from desktop.store.translations import SegmentRecord, TranslationRecord
from desktop.tasks.documents import SourceText
from desktop.tasks.glossary import glossary_from_pairs
from desktop.tasks.languages import Language, detect_language, language_name
from desktop.tasks.segments import split_into_segments
from desktop.ui.models.formatting import time_left_text
from desktop.ui.translate.options_bar import TranslationOptionsBar
from desktop.ui.translate.segment_table import SegmentTable
from desktop.ui.translate.translation_task import (
    StartedTranslation,
    continued_translation,
    new_translation,
    segment_translated_again,
)
from desktop.ui.widgets.document_input import DocumentInput
from desktop.ui.widgets.model_picker import ModelPicker
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.session_history import (
    HistoryRow,
    SessionHistory,
    local_time,
    status_words,
)
from desktop.ui.widgets.task_run import TaskRun, run_shortcuts, task_thread

if TYPE_CHECKING:
    from desktop.models.installed import InstalledModel
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks

DETECT_DELAY_MS = 400  # detect once the user pauses typing
VIEW_UPDATE_MS = 16  # streamed text reaches the table at most ~60 times a second
EXPORT_FORMATS = {"md": "Markdown (*.md)", "txt": "Plain text (*.txt)", "docx": "Word (*.docx)"}
BILINGUAL_FORMATS = ("md", "docx")
HISTORY_WIDTH = 260


def flagged_text(count: int) -> str:
    if count == 1:
        return "1 segment misses glossary terms"
    return f"{count} segments miss glossary terms"


def unfinished(segments: list[SegmentRecord]) -> list[SegmentRecord]:
    return [s for s in segments if s.translatable and s.status not in ("done", "edited")]


def text_counts(text: str) -> tuple[Language | None, int, int]:
    """In the background: the text's language, its words and the segments to translate."""
    segments = split_into_segments(text)
    return detect_language(text), len(text.split()), sum(s.translatable for s in segments)


class TranslatePage(QWidget):
    history_shown = Signal()
    session_shown = Signal(int)  # translation id: its rows are in the table
    language_detected = Signal(object)  # Language | None
    segment_saved = Signal(object)  # SegmentRecord: a hand edit stored
    run_ended = Signal(str)  # the outcome's status, or "failed"; the thread has ended
    exported = Signal(object)  # Path

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._lantern = lantern
        self._tasks = tasks
        self._translation_id: int | None = None
        self._record: TranslationRecord | None = None
        self._task: TaskRun | None = None
        self._thread: QThread | None = None
        self._outcome_status = "failed"
        self._pieces: dict[int, list[str]] = {}
        self._detect_generation = 0
        self._history_generation = 0
        self._wanted_session: int | None = None

        self.history = SessionHistory("translation", "translations")
        self.history.search_changed.connect(lambda _query: self.refresh_history())
        self.history.opened.connect(self.open_session)
        self.history.new_requested.connect(self.new_translation)
        self.history.delete_requested.connect(self.confirm_delete)

        self.options = TranslationOptionsBar(tasks)
        self.options.glossary_changed.connect(self._update_buttons)
        self.model_picker = ModelPicker()
        model_label = QLabel("&Model:")
        model_label.setBuddy(self.model_picker)
        self.options.row.addWidget(model_label)
        self.options.row.addWidget(self.model_picker)

        self.input = DocumentInput(tasks)
        self.input.changed.connect(self._text_changed)
        self._detect_timer = QTimer(self)
        self._detect_timer.setSingleShot(True)
        self._detect_timer.setInterval(DETECT_DELAY_MS)
        self._detect_timer.timeout.connect(self._detect)

        self.translate_button = QPushButton("&Translate")
        self.translate_button.setAccessibleName("Translate")
        self.translate_button.setToolTip("Translate the text (Ctrl+Enter)")
        self.translate_button.clicked.connect(lambda _checked=False: self.translate())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the translation")
        self.cancel_button.setToolTip("Stop; finished segments are kept (Esc)")
        self.cancel_button.clicked.connect(lambda _checked=False: self.cancel())
        self.continue_button = QPushButton("C&ontinue")
        self.continue_button.setAccessibleName("Continue the translation")
        self.continue_button.setToolTip("Translate the segments not translated yet")
        self.continue_button.clicked.connect(lambda _checked=False: self.continue_translation())
        self.again_button = QPushButton("Translate segment &again")
        self.again_button.setAccessibleName("Translate the selected segment again")
        self.again_button.clicked.connect(lambda _checked=False: self.retranslate_selected())
        self.export_button = QPushButton("&Export…")
        self.export_button.setAccessibleName("Export the translation")
        self.export_button.clicked.connect(lambda _checked=False: self.choose_export(False))
        self.bilingual_button = QPushButton("Export &bilingual…")
        self.bilingual_button.setAccessibleName("Export source and translation side by side")
        self.bilingual_button.clicked.connect(lambda _checked=False: self.choose_export(True))

        self.progress = QProgressBar()
        self.progress.setAccessibleName("Translation progress")
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.status = QLabel()
        self.status.setAccessibleName("Translation status")
        self.status.setWordWrap(True)
        self.notice = Notice()

        self.table = SegmentTable()
        self.table.translation_edited.connect(self.save_edit)
        self.table.retranslate_requested.connect(self.retranslate)
        self.table.currentCellChanged.connect(lambda *_cells: self._update_buttons())
        self.flagged_label = QLabel()
        self.flagged_label.setAccessibleName("Segments missing glossary terms")
        self.next_flagged_button = QPushButton("&Next flagged")
        self.next_flagged_button.setAccessibleName("Go to the next segment missing glossary terms")
        self.next_flagged_button.clicked.connect(
            lambda _checked=False: self.table.select_next_flagged()
        )

        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(VIEW_UPDATE_MS)
        self._flush_timer.timeout.connect(self._flush_pieces)

        self._build_layout()
        self._cancel_shortcut = run_shortcuts(self, self.translate, self.cancel)
        self._show_flagged()
        self._update_buttons()

    def _build_layout(self) -> None:
        actions = QHBoxLayout()
        for button in (self.translate_button, self.cancel_button, self.continue_button):
            actions.addWidget(button)
        actions.addStretch(1)
        for button in (self.again_button, self.export_button, self.bilingual_button):
            actions.addWidget(button)
        progress = QHBoxLayout()
        progress.addWidget(self.progress, 1)
        progress.addWidget(self.status, 2)
        flags = QHBoxLayout()
        flags.addWidget(self.flagged_label)
        flags.addWidget(self.next_flagged_button)
        flags.addStretch(1)

        result = QWidget()
        result_layout = QVBoxLayout(result)
        result_layout.setContentsMargins(0, 0, 0, 0)
        result_layout.addLayout(flags)
        result_layout.addWidget(self.table, 1)
        document = QSplitter(Qt.Orientation.Vertical)
        document.addWidget(self.input)
        document.addWidget(result)
        document.setStretchFactor(0, 1)
        document.setStretchFactor(1, 2)
        document.setChildrenCollapsible(False)

        work = QWidget()
        work_layout = QVBoxLayout(work)
        work_layout.setContentsMargins(0, 0, 0, 0)
        work_layout.addWidget(self.options)
        work_layout.addWidget(document, 1)
        work_layout.addLayout(actions)
        work_layout.addLayout(progress)
        work_layout.addWidget(self.notice)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.history)
        splitter.addWidget(work)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([HISTORY_WIDTH, 4 * HISTORY_WIDTH])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(splitter)

    # ---- what the window calls ----

    def set_models(self, models: list[InstalledModel], default_id: str | None) -> None:
        self.model_picker.show_models(models, default_id)
        self._update_buttons()

    def start(self) -> None:
        """The window has opened: read the saved sessions."""
        self.refresh_history()

    def shutdown(self) -> None:
        """Stop a running translation and wait for its thread: none outlives the page."""
        self._detect_timer.stop()
        self._flush_timer.stop()
        if self._task is not None:
            self._task.cancel()  # the run stops at the next token
        if self._thread is not None:
            self._thread.wait()
            self._thread.deleteLater()
        self._task = self._thread = None

    # ---- running ----

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def translation_id(self) -> int | None:
        return self._translation_id

    def translate(self) -> None:
        """Translate the text in the box as a new session."""
        if self.running:
            return
        self.notice.clear_message()
        source = self.input.source()
        target = self.options.target_language()
        if target is None:
            return
        if not source.text.strip():
            self.notice.show_error("Paste or type the text to translate, or open a file.")
            return
        model_id = self._model_id()
        if model_id is None:
            return
        options = TranslationOptions(
            target=target,
            source=self.options.source_language(),
            tone=self.options.tone(),
            glossary=self.options.glossary(),
        )
        self._start_run(new_translation(self._lantern, source, options, model_id))

    def continue_translation(self) -> None:
        """Go on with the segments of the shown session that are not translated yet."""
        if self.running or self._translation_id is None:
            return
        model_id = self._model_id()
        if model_id is not None:
            self._start_run(continued_translation(self._lantern, self._translation_id, model_id))

    def retranslate_selected(self) -> None:
        segment = self.table.selected_segment()
        if segment is not None:
            self.retranslate(segment.id)

    def retranslate(self, segment_id: int) -> None:
        if self.running:
            return
        model_id = self._model_id()
        if model_id is not None:
            self._start_run(segment_translated_again(self._lantern, segment_id, model_id))

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.status.setText("Stopping…")

    def _model_id(self) -> str | None:
        model_id = self.model_picker.currentData()
        if model_id is None:
            self.notice.show_error("Install a model first: see the Models page.")
        return model_id

    def _start_run(self, begin: Any) -> None:
        self.notice.clear_message()
        task = TaskRun(begin)
        task.started.connect(self._run_started)
        task.yielded.connect(self._run_event)
        task.finished.connect(self._run_finished)
        task.failed.connect(self._run_failed)
        thread = task_thread(task, self)
        thread.finished.connect(self._thread_finished)
        self._task, self._thread = task, thread
        self._outcome_status = "failed"
        self._pieces.clear()
        self.status.setText("Starting…")
        self.progress.setRange(0, 0)  # busy until the first segment says how many
        self.progress.setFormat("Loading the model…")
        self.progress.show()
        self._update_buttons()
        thread.start()

    def _run_started(self, started: StartedTranslation) -> None:
        is_new = started.record.id != self._translation_id
        self._translation_id, self._record = started.record.id, started.record
        self._wanted_session = started.record.id
        self.table.show_segments(started.segments)
        self._show_flagged()
        self.status.setText("Loading the model…")
        if is_new:
            self.refresh_history()  # the new session is saved: list it

    def _run_event(self, event: object) -> None:
        if isinstance(event, SegmentPiece):
            self._pieces.setdefault(event.position, []).append(event.text)
            if not self._flush_timer.isActive():
                self._flush_timer.start()
        elif isinstance(event, SegmentStarted):
            self._flush_pieces()
            self.table.begin_translating(event.position)
            self.progress.setRange(0, event.steps)
            self.progress.setValue(event.step - 1)
            self.progress.setFormat(f"Segment {event.step} of {event.steps}{_about(event.eta_s)}")
            self.status.setText("Translating…")
        elif isinstance(event, SegmentDone):
            self._pieces.pop(event.segment.position, None)
            self.table.update_segment(event.segment)
            self.progress.setValue(self.progress.value() + 1)
            self._show_flagged()

    def _flush_pieces(self) -> None:
        pieces, self._pieces = self._pieces, {}
        for position, texts in pieces.items():
            self.table.append_translation(position, "".join(texts))

    def _run_finished(self, outcome: TranslationOutcome) -> None:
        self._flush_pieces()
        self._outcome_status = outcome.status
        self._record = outcome.record
        messages = {
            "complete": "Translated.",
            "incomplete": "Segment translated again; others still wait: Continue translates them.",
            "cancelled": "Stopped. Finished segments are kept: Continue translates the rest.",
        }
        if outcome.status in messages:
            self.status.setText(messages[outcome.status])
        else:
            self.status.setText("")
            self.notice.show_error(
                f"{outcome.error or 'The translation stopped.'} Finished segments are kept: "
                "Continue translates the rest."
            )

    def _run_failed(self, message: str) -> None:
        self._flush_pieces()
        self._outcome_status = "failed"
        self.status.setText("")
        self.notice.show_error(message)

    def _thread_finished(self) -> None:
        if self._thread is not None:
            self._thread.wait()  # finished is emitted just before the thread really ends
            self._thread.deleteLater()
        self._task = self._thread = None
        self.progress.hide()
        self._update_buttons()
        self._reload_session()  # what the store has: a stopped segment's partial text too
        self.refresh_history()  # its state and date changed
        self.run_ended.emit(self._outcome_status)

    # ---- hand edits ----

    def save_edit(self, segment_id: int, text: str) -> None:
        lantern = self._lantern
        self.notice.clear_message()
        self._tasks.run(
            lambda: lantern.translate.edit_segment(segment_id, text),
            self._edit_saved,
            self._edit_failed,
        )

    def _edit_saved(self, segment: SegmentRecord) -> None:
        if segment.translation_id == self._translation_id:
            self.table.update_segment(segment)
            self._show_flagged()
        self.segment_saved.emit(segment)

    def _edit_failed(self, error: BaseException) -> None:
        self.notice.show_error(error)
        self._reload_session()  # the cell shows what is stored again

    # ---- sessions ----

    def new_translation(self) -> None:
        if self.running:
            return
        self._translation_id = self._record = None
        self._wanted_session = None
        self.table.show_segments([])
        self.input.set_source(SourceText(""))
        self.options.set_glossary(glossary_from_pairs([]))
        self.status.setText("")
        self.notice.clear_message()
        self.history.clear_selection()
        self._show_flagged()
        self._update_buttons()
        self.input.text_box.setFocus()

    def open_session(self, translation_id: int) -> None:
        """Show a saved session: its text, options and rows."""
        if self.running or translation_id == self._wanted_session:
            return
        self._wanted_session = translation_id
        self._read_session(translation_id, restore_inputs=True)

    def _reload_session(self) -> None:
        if self._translation_id is not None:
            self._read_session(self._translation_id, restore_inputs=False)

    def _read_session(self, translation_id: int, *, restore_inputs: bool) -> None:
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.translate.session(translation_id),
            lambda result: self._session_read(result, restore_inputs),
            self._session_failed,
        )

    def _session_failed(self, error: BaseException) -> None:
        self._wanted_session = self._translation_id  # another click may try again
        self.notice.show_error(error)

    def _session_read(
        self, result: tuple[TranslationRecord, list[SegmentRecord]], restore_inputs: bool
    ) -> None:
        record, segments = result
        if self.running:
            return  # a run writes the table now; its end reads the session again
        if restore_inputs and record.id != self._wanted_session:
            return  # another session was asked for meanwhile
        if not restore_inputs and record.id != self._translation_id:
            return
        self._translation_id, self._record = record.id, record
        self._wanted_session = record.id
        self.table.show_segments(segments)
        if restore_inputs:
            document = "".join(s.source + s.separator for s in segments)
            self.input.set_source(SourceText(document, record.source_name))
            self.options.set_source_language(record.source_language)
            self.options.set_target_language(record.target_language)
            self.options.set_tone(record.tone)
            self.options.set_glossary(glossary_from_pairs(record.glossary))
            self.model_picker.choose(record.model_id)
            left = len(unfinished(segments))
            self.status.setText(
                f"{left} segment{'s' if left != 1 else ''} not translated yet: "
                "Continue translates them."
                if left
                else ""
            )
            self.notice.clear_message()
        self._show_flagged()
        self._update_buttons()
        self.session_shown.emit(record.id)

    def refresh_history(self) -> None:
        lantern, query = self._lantern, self.history.query()
        self._history_generation += 1
        generation = self._history_generation

        def show(records: list[TranslationRecord]) -> None:
            if generation == self._history_generation:
                self.history.show_rows([_history_row(r) for r in records], self._translation_id)
                self.history_shown.emit()

        self._tasks.run(lambda: lantern.translate.sessions(query), show, self.notice.show_error)

    def confirm_delete(self, translation_id: int) -> None:
        if self.running and translation_id == self._translation_id:
            return
        title = self.history.title_of(translation_id) or "this translation"
        answer = QMessageBox.question(
            self,
            "Delete translation",
            f"Delete “{title}” and its translated segments? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_session(translation_id)

    def delete_session(self, translation_id: int) -> None:
        lantern = self._lantern

        def deleted(_result: object) -> None:
            if translation_id == self._translation_id:
                self.new_translation()
            self.refresh_history()

        self._tasks.run(
            lambda: lantern.translate.delete(translation_id), deleted, self.notice.show_error
        )

    # ---- export ----

    def choose_export(self, bilingual: bool) -> None:
        if self._record is None:
            return
        kinds = BILINGUAL_FORMATS if bilingual else tuple(EXPORT_FORMATS)
        filters = ";;".join(EXPORT_FORMATS[kind] for kind in kinds)
        suffix = " (bilingual)" if bilingual else ""
        default = f"{self._record.title}{suffix}.{kinds[0]}"
        path, chosen = QFileDialog.getSaveFileName(self, "Export the translation", default, filters)
        if not path:
            return
        fmt = Path(path).suffix.lower().lstrip(".")
        if fmt not in kinds:
            fmt = next((kind for kind in kinds if EXPORT_FORMATS[kind] == chosen), kinds[0])
            path = f"{path}.{fmt}"
        self.export_to(Path(path), fmt, bilingual=bilingual)

    def export_to(self, path: Path, fmt: str, *, bilingual: bool) -> None:
        if self._translation_id is None:
            return
        lantern, translation_id = self._lantern, self._translation_id

        def write() -> Path:
            lantern.translate.export_file(translation_id, path, fmt, bilingual=bilingual)  # type: ignore[arg-type]
            return path

        def written(result: Path) -> None:
            self.notice.show_info(f"Saved to {result}.")
            self.exported.emit(result)

        self._tasks.run(write, written, self.notice.show_error)

    # ---- the text and its language ----

    def _text_changed(self) -> None:
        self._detect_timer.start()

    def _detect(self) -> None:
        text = self.input.source().text
        self._detect_generation += 1
        generation = self._detect_generation
        if not text.strip():
            self.options.show_detected(None, has_text=False)
            self.input.set_counts("")
            return

        def show(result: tuple[Language | None, int, int]) -> None:
            if generation != self._detect_generation:
                return  # the text changed since
            language, words, segments = result
            self.options.show_detected(language, has_text=True)
            self.input.set_counts(
                f"{words:,} word{'s' if words != 1 else ''} · "
                f"{segments:,} segment{'s' if segments != 1 else ''}"
            )
            self.language_detected.emit(language)

        self._tasks.run(lambda: text_counts(text), show, lambda _message: None)

    # ---- state shown ----

    def _show_flagged(self) -> None:
        count = len(self.table.flagged_rows())
        self.flagged_label.setText(flagged_text(count))
        self.flagged_label.setVisible(count > 0)
        self.next_flagged_button.setVisible(count > 0)

    def _update_buttons(self) -> None:
        running = self.running
        has_model = self.model_picker.count() > 0
        segments = self.table.segments()
        selected = self.table.selected_segment()
        has_translation = any(s.translation for s in segments if s.translatable)
        self.translate_button.setEnabled(not running and has_model)
        self.cancel_button.setEnabled(running)
        self._cancel_shortcut.setEnabled(running)
        self.continue_button.setEnabled(
            not running
            and has_model
            and self._translation_id is not None
            and bool(unfinished(segments))
        )
        self.again_button.setEnabled(
            not running and has_model and selected is not None and selected.translatable
        )
        self.export_button.setEnabled(not running and has_translation)
        self.bilingual_button.setEnabled(not running and has_translation)
        self.history.setEnabled(not running)
        self.options.set_enabled_for_run(running)
        self.model_picker.setEnabled(not running)
        self.table.set_editable(not running)


def _history_row(record: TranslationRecord) -> HistoryRow:
    source = language_name(record.source_language) if record.source_language else "Unknown"
    languages = f"{source} → {language_name(record.target_language)}"
    when = local_time(record.updated_at)
    return HistoryRow(
        record.id, record.title, f"{languages} · {when} · {status_words(record.status)}",
        record.error or "",
    )  # fmt: skip


def _about(seconds: float | None) -> str:
    return f" · about {time_left_text(seconds)}" if seconds is not None else ""
