"""The Translate page: a document in (typed, pasted, dropped or opened), its translation out,
side by side and segment by segment, with the saved sessions to the left.

Built as every page with a long job is (see ui/summarize/page.py): the translation runs in a
`PageRun` (a segment's rows are laid out from the session read as it starts:
translation_task.py), the saved sessions are a `SavedSessions`, an edit and the language
detection go through the window's BackgroundTasks, and streamed text reaches the table at
most once a frame (a `Throttle`). Nothing here blocks the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services.translate import (
    SegmentDone,
    SegmentPiece,
    SegmentStarted,
    TranslationEvent,
    TranslationOptions,
    TranslationOutcome,
)
from desktop.store.translations import SegmentRecord, TranslationRecord, TranslationStatus
from desktop.tasks.documents import SourceText
from desktop.tasks.glossary import glossary_from_pairs
from desktop.tasks.languages import Language, detect_language, language_name
from desktop.tasks.segments import split_into_segments
from desktop.ui.models.formatting import time_left_text
from desktop.ui.page import Page
from desktop.ui.runs import PageRun
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
from desktop.ui.widgets.panes import panes
from desktop.ui.widgets.run_shortcuts import run_shortcuts
from desktop.ui.widgets.session_history import HistoryRow, local_time, status_words
from desktop.ui.widgets.session_page import DOCUMENT_FORMATS, SavedSessions, SessionWords
from desktop.ui.widgets.throttle import Throttle

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.services.models import ModelOption
    from desktop.tasks.document_export import ExportFormat
    from desktop.ui.bridge import BackgroundTasks

DETECT_DELAY_MS = 400  # detect once the user pauses typing
BILINGUAL_FORMATS: tuple[ExportFormat, ...] = ("md", "docx")
HISTORY_WIDTH = 260
TRANSLATIONS = SessionWords(
    "translation",
    "translations",
    "Delete “{title}” and its translated segments? This cannot be undone.",
)
# A saved translation as the page opens it: the session and its segments.
OpenedTranslation = tuple[TranslationRecord, list[SegmentRecord]]


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


class TranslatePage(Page):
    session_shown = Signal(int)  # translation id: its rows are in the table
    language_detected = Signal(object)  # Language | None
    segment_saved = Signal(object)  # SegmentRecord: a hand edit stored
    run_ended = Signal(str)  # the outcome's TranslationStatus, or "failed"; the thread has ended

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self._record: TranslationRecord | None = None  # the session shown
        self._outcome_status: TranslationStatus = "failed"
        self._pieces: dict[int, list[str]] = {}
        self._detect_generation = 0
        self._run = PageRun(self, "lantern-translation")
        self._run.started.connect(self._run_started)
        self._run.yielded.connect(self._run_event)
        self._run.finished.connect(self._run_finished)
        self._run.failed.connect(self._run_failed)
        self._run.ended.connect(self._run_ended)

        self.options = TranslationOptionsBar(tasks)
        self.options.glossary_changed.connect(self._update_buttons)
        self.model_picker = ModelPicker()
        model_label = QLabel("&Model:")
        model_label.setBuddy(self.model_picker)
        self.options.row.addWidget(model_label)
        self.options.row.addWidget(self.model_picker)

        self.input = DocumentInput(tasks)
        self._detect_later = Throttle(self._detect, DETECT_DELAY_MS, parent=self)
        self.input.changed.connect(self._detect_later.restart)

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
        self.sessions: SavedSessions[TranslationRecord, OpenedTranslation] = SavedSessions(
            self, tasks, self.notice, lambda: lantern.translate, TRANSLATIONS
        )

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

        self._pieces_later = Throttle(self._flush_pieces, parent=self)

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
        document = panes([self.input, result], stretch=(1, 2), vertical=True)

        work = QWidget()
        work_layout = QVBoxLayout(work)
        work_layout.setContentsMargins(0, 0, 0, 0)
        work_layout.addWidget(self.options)
        work_layout.addWidget(document, 1)
        work_layout.addLayout(actions)
        work_layout.addLayout(progress)
        work_layout.addWidget(self.notice)

        splitter = panes(
            [self.sessions.history, work], stretch=(1, 4), sizes=(HISTORY_WIDTH, 4 * HISTORY_WIDTH)
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(splitter)

    # ---- what the window calls ----

    def set_models(self, models: list[ModelOption], default_id: str | None) -> None:
        self.model_picker.show_models(models, default_id)
        self._update_buttons()

    def start(self) -> None:
        """The window has opened: read the saved sessions."""
        self.sessions.refresh()

    def shutdown(self) -> None:
        """Stop a running translation and wait for its thread: none outlives the page."""
        self._detect_later.cancel()
        self._pieces_later.cancel()
        self._run.shutdown()  # the run stops at the next token

    # ---- running ----

    def is_running(self) -> bool:
        return self._run.running()

    @property
    def translation_id(self) -> int | None:
        return self._record.id if self._record is not None else None

    def translate(self) -> None:
        """Translate the text in the box as a new session."""
        if self.is_running():
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
        translation_id = self.translation_id
        if self.is_running() or translation_id is None:
            return
        model_id = self._model_id()
        if model_id is not None:
            self._start_run(continued_translation(self._lantern, translation_id, model_id))

    def retranslate_selected(self) -> None:
        segment = self.table.selected_segment()
        if segment is not None:
            self.retranslate(segment.id)

    def retranslate(self, segment_id: int) -> None:
        if self.is_running():
            return
        model_id = self._model_id()
        if model_id is not None:
            self._start_run(segment_translated_again(self._lantern, segment_id, model_id))

    def cancel(self) -> None:
        if self.is_running():
            self._run.cancel()
            self.status.setText("Stopping…")

    def _model_id(self) -> str | None:
        model_id = self.model_picker.currentData()
        if model_id is None:
            self.notice.show_error("Install a model first: see the Models page.")
        return model_id

    def _start_run(self, begin: Callable[[], StartedTranslation]) -> None:
        self.notice.clear_message()
        self._outcome_status = "failed"  # unless the run says otherwise
        self._pieces.clear()
        self.status.setText("Starting…")
        self.progress.setRange(0, 0)  # busy until the first segment says how many
        self.progress.setFormat("Loading the model…")
        self.progress.show()
        self._run.start(begin)
        self._update_buttons()

    def _run_started(self, started: StartedTranslation) -> None:
        is_new = started.record.id != self.translation_id
        self._record = started.record
        self.sessions.set_current(started.record.id)
        self.table.show_segments(started.segments)
        self._show_flagged()
        self.status.setText("Loading the model…")
        if is_new:
            self.sessions.refresh()  # the new session is saved: list it

    def _run_event(self, event: TranslationEvent) -> None:
        if isinstance(event, SegmentPiece):
            self._pieces.setdefault(event.position, []).append(event.text)
            self._pieces_later.request()
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
        self._pieces_later.cancel()
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

    def _run_failed(self, error: BaseException) -> None:
        self._flush_pieces()
        self._outcome_status = "failed"
        self.status.setText("")
        self.notice.show_error(error)

    def _run_ended(self) -> None:
        self.progress.hide()
        self._update_buttons()
        self._reload_session()  # what the store has: a stopped segment's partial text too
        self.sessions.refresh()  # its state and date changed
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
        if segment.translation_id == self.translation_id:
            self.table.update_segment(segment)
            self._show_flagged()
        self.segment_saved.emit(segment)

    def _edit_failed(self, error: BaseException) -> None:
        self.notice.show_error(error)
        self._reload_session()  # the cell shows what is stored again

    # ---- the saved sessions (SavedSessions' owner) ----

    def history_row(self, record: TranslationRecord) -> HistoryRow:
        source = language_name(record.source_language) if record.source_language else "Unknown"
        languages = f"{source} → {language_name(record.target_language)}"
        when = local_time(record.updated_at)
        return HistoryRow(
            record.id, record.title, f"{languages} · {when} · {status_words(record.status)}",
            record.error or "",
        )  # fmt: skip

    def show_session(self, opened: OpenedTranslation) -> None:
        """A saved session: its text, options and rows."""
        self._show_translation(opened, restore_inputs=True)

    def _reload_session(self) -> None:
        """The rows of the session shown, as stored now."""
        if self._record is not None:
            self.sessions.open(
                self._record.id,
                again=True,
                show=lambda opened: self._show_translation(opened, restore_inputs=False),
            )

    def _show_translation(self, opened: OpenedTranslation, *, restore_inputs: bool) -> None:
        record, segments = opened
        self._record = record
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

    def clear_session(self) -> None:
        self._record = None
        self.table.show_segments([])
        self.input.set_source(SourceText(""))
        self.options.set_glossary(glossary_from_pairs([]))
        self.status.setText("")
        self.notice.clear_message()
        self._show_flagged()
        self._update_buttons()
        self.input.text_box.setFocus()

    def session_deleted(self, translation_id: int, *, shown: bool) -> None:
        if shown:
            self.clear_session()

    # ---- export ----

    def choose_export(self, bilingual: bool) -> None:
        if self._record is None:
            return
        kinds = BILINGUAL_FORMATS if bilingual else tuple(DOCUMENT_FORMATS)
        suffix = " (bilingual)" if bilingual else ""
        chosen = self.sessions.choose_export(
            "Export the translation",
            f"{self._record.title}{suffix}",
            {kind: DOCUMENT_FORMATS[kind] for kind in kinds},
        )
        if chosen is not None:
            self.export_to(*chosen, bilingual=bilingual)

    def export_to(self, path: Path, fmt: ExportFormat, *, bilingual: bool) -> None:
        translation_id, lantern = self.translation_id, self._lantern
        if translation_id is None:
            return
        self.sessions.export(
            path,
            lambda: lantern.translate.export_file(translation_id, path, fmt, bilingual=bilingual),
            self.notice,
        )

    # ---- the text and its language ----

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
        running = self.is_running()
        has_model = self.model_picker.count() > 0
        segments = self.table.segments()
        selected = self.table.selected_segment()
        has_translation = any(s.translation for s in segments if s.translatable)
        self.translate_button.setEnabled(not running and has_model)
        self.cancel_button.setEnabled(running)
        self._cancel_shortcut.setEnabled(running)
        self.continue_button.setEnabled(
            not running and has_model and self._record is not None and bool(unfinished(segments))
        )
        self.again_button.setEnabled(
            not running and has_model and selected is not None and selected.translatable
        )
        self.export_button.setEnabled(not running and has_translation)
        self.bilingual_button.setEnabled(not running and has_translation)
        self.sessions.history.setEnabled(not running)
        self.options.set_enabled_for_run(running)
        self.model_picker.setEnabled(not running)
        self.table.set_editable(not running)


def _about(seconds: float | None) -> str:
    return f" · about {time_left_text(seconds)}" if seconds is not None else ""
