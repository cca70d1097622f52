"""The Summarize page: a text (typed, pasted or from a file) made into a summary with the
options chosen, streamed as it is written, saved, compared with the other summaries of the
same text, copied or exported; and the saved summaries, searchable, to open again.

It is built the way every page with a long job is (Translate and the Playground too):
- the job runs in a `PageRun` (ui/runs.py), in a thread of its own that is a child of the
  page: its events stream into the views, then its outcome, or the exception with what was
  saved, arrives typed on the GUI thread;
- the saved sessions in the history on the left are a `SavedSessions`
  (widgets/session_page.py): the page shows a session read, clears itself for a new one, and
  words a history line;
- every other read and write goes through the window's BackgroundTasks;
- streamed text reaches the views at most once a frame, and a count waits for typing to
  pause, each through a `Throttle` (widgets/throttle.py).
Nothing here blocks the GUI thread; errors are worded by `error_text`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import LanternError, ModelNotLoadedYet
from desktop.services.summarize import (
    NotesDone,
    NotesPiece,
    PlanMade,
    StepStarted,
    SummaryEvent,
    SummaryOutcome,
    SummaryPiece,
    SummaryPlan,
    SummaryRun,
)
from desktop.store.summaries import SummaryRecord
from desktop.tasks.documents import SourceText
from desktop.tasks.summary import SummaryOptions
from desktop.ui.error_text import error_text
from desktop.ui.models.formatting import NOT_COUNTED_YET, time_left_text, token_count_text
from desktop.ui.page import Page
from desktop.ui.runs import PageRun
from desktop.ui.summarize.notes_area import NotesArea
from desktop.ui.summarize.options_bar import SummaryOptionsBar
from desktop.ui.summarize.result_view import SummaryView
from desktop.ui.summarize.versions_view import VersionsView
from desktop.ui.widgets.document_input import DocumentInput
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.run_shortcuts import run_shortcuts
from desktop.ui.widgets.session_history import HistoryRow, local_time, status_words
from desktop.ui.widgets.session_page import SavedSessions, SessionWords
from desktop.ui.widgets.throttle import Throttle

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.services.models import ModelOption
    from desktop.store.sessions import RunStatus
    from desktop.tasks.document_export import ExportFormat
    from desktop.ui.bridge import BackgroundTasks

log = logging.getLogger(__name__)

COUNT_DELAY_MS = 700  # count tokens once typing pauses: counting loads the model
NO_MODEL = "Install a model on the Models page to summarize."
SUMMARIES = SessionWords("summary", "summaries", "Delete this summary? It cannot be undone.")
OUTCOME_MESSAGES = {
    "complete": "Done: the summary is saved.",
    "cancelled": "Cancelled: the notes and the text written so far are kept.",
}


def counts_line(words: int, plan: SummaryPlan | None = None, *, estimated: bool = False) -> str:
    """'1,234 words · 1,650 tokens · 1 pass'; '≈ 1,650 tokens' where the model's server
    cannot count them (`estimated`)."""
    line = f"{words:,} word{'' if words == 1 else 's'}"
    if plan is None:
        return line
    passes = f"{plan.passes} pass{'' if plan.passes == 1 else 'es'}"
    return f"{line} · {token_count_text(plan.tokens, estimated=estimated)} · {passes}"


class SummarizePage(Page):
    run_ended = Signal(str)  # the run's RunStatus, once its thread has ended

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self._run = PageRun(self, "lantern-summary")
        self._summary_run: SummaryRun | None = None  # the run going, once it has started
        self._ended_status: RunStatus = "failed"
        self._closed = False
        self._current: SummaryRecord | None = None  # the summary shown (run or opened)
        self._versions: list[SummaryRecord] = []
        self._count_generation = 0
        self._count_after_run = False
        self._build()
        self._connect()
        self._update_actions()

    # ---- layout ----

    def _build(self) -> None:
        self.document_input = DocumentInput(self._tasks)
        self.options_bar = SummaryOptionsBar()

        self.summarize_button = QPushButton("Summarize")
        self.summarize_button.setAccessibleName("Summarize")
        self.summarize_button.setToolTip("Summarize (Ctrl+Enter)")
        self.summarize_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel summary")
        self.cancel_button.setToolTip("Cancel (Esc): what is written so far is kept")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Progress")
        self.progress.setTextVisible(True)
        self.model_notice = Notice()  # shown while no model is installed
        self.model_notice.show_info(NO_MODEL)
        self.model_notice.hide()  # until the window says which models there are
        self.status = Notice()  # how the run went, or what is wrong with starting one
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.summarize_button)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.progress, 1)
        actions.addStretch(0)  # keeps the buttons their size while the progress bar is hidden

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.document_input, 1)
        top_layout.addWidget(self.options_bar)
        top_layout.addLayout(actions)
        top_layout.addWidget(self.model_notice)
        top_layout.addWidget(self.status)

        self.result_title = QLabel("<b>Summary</b>")
        self.compare_button = QPushButton("Compare versions")
        self.compare_button.setAccessibleName("Compare versions")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAccessibleName("Copy summary")
        self.copy_button.setToolTip("Copy the summary as Markdown")
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export summary")
        result_bar = QHBoxLayout()
        result_bar.setContentsMargins(0, 0, 0, 0)
        result_bar.addWidget(self.result_title, 1)
        result_bar.addWidget(self.compare_button)
        result_bar.addWidget(self.copy_button)
        result_bar.addWidget(self.export_button)
        self.summary_view = SummaryView()
        self.versions_view = VersionsView()
        self.result_stack = QStackedWidget()
        self.result_stack.addWidget(self.summary_view)
        self.result_stack.addWidget(self.versions_view)
        self.result_notice = Notice()  # copy and export
        self.notes = NotesArea()
        self.notes.hide()

        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addLayout(result_bar)
        bottom_layout.addWidget(self.result_stack, 1)
        bottom_layout.addWidget(self.result_notice)
        bottom_layout.addWidget(self.notes)

        lantern = self._lantern
        self.sessions: SavedSessions[SummaryRecord, SummaryRecord] = SavedSessions(
            self, self._tasks, self.status, lambda: lantern.summarize, SUMMARIES
        )

        work = QSplitter(Qt.Orientation.Vertical)
        work.setChildrenCollapsible(False)
        work.addWidget(top)
        work.addWidget(bottom)
        work.setSizes([320, 360])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.setChildrenCollapsible(False)
        main.addWidget(self.sessions.history)
        main.addWidget(work)
        main.setStretchFactor(1, 1)
        main.setSizes([240, 760])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(main)

        self.cancel_shortcut = run_shortcuts(self, self.summarize, self.cancel)
        self._count_later = Throttle(self._count, COUNT_DELAY_MS, parent=self)

    def _connect(self) -> None:
        self.document_input.changed.connect(self._text_changed)
        self.options_bar.changed.connect(self._options_changed)
        self.summarize_button.clicked.connect(lambda _checked=False: self.summarize())
        self.cancel_button.clicked.connect(lambda _checked=False: self.cancel())
        self.copy_button.clicked.connect(lambda _checked=False: self.copy_summary())
        self.export_button.clicked.connect(lambda _checked=False: self._choose_export_file())
        self.compare_button.clicked.connect(lambda _checked=False: self.show_comparison())
        self.versions_view.closed.connect(self.close_comparison)
        self.versions_view.open_requested.connect(self._open_version)
        self._run.started.connect(self._run_started)
        self._run.yielded.connect(self._on_event)
        self._run.finished.connect(self._on_finished)
        self._run.failed.connect(self._on_failed)
        self._run.ended.connect(self._run_ended)

    # ---- what the window calls ----

    def set_models(self, models: list[ModelOption], default_id: str | None) -> None:
        self.options_bar.set_models(models, default_id)
        self.model_notice.setVisible(not models)
        self._update_actions()

    def start(self) -> None:
        """The window opened: read the saved summaries."""
        self.sessions.refresh()

    def shutdown(self) -> None:
        """The window is closing: cancel the run and wait for its thread."""
        if self._closed:
            return
        self._closed = True
        self._count_later.cancel()
        self._run.shutdown()
        self.summary_view.flush()
        self.notes.flush()

    def is_running(self) -> bool:
        return self._run.running()

    # ---- counts: words now, tokens and passes once typing pauses ----

    def _text_changed(self) -> None:
        words = self.document_input.words()
        has_text = bool(self.document_input.text_box.toPlainText().strip())
        if not has_text:
            self.document_input.set_counts("")
        elif self._can_count():
            self.document_input.set_counts(f"{counts_line(words)} · counting…")
        else:
            self.document_input.set_counts(counts_line(words))
        self._count_generation += 1  # an answer on its way is for older text now
        if has_text:
            self._count_later.restart()
        self._update_actions()

    def _options_changed(self) -> None:
        if self.document_input.text_box.toPlainText().strip():
            self._text_changed()  # passes depend on the length asked for, and the model
        else:
            self._update_actions()

    def _can_count(self) -> bool:
        return self.options_bar.model_id() is not None

    def _count(self) -> None:
        source = self.document_input.source()
        model_id = self.options_bar.model_id()
        if not source.text.strip() or model_id is None or self._closed:
            return
        if self.is_running():
            self._count_after_run = True  # the engine is busy: count once it is free
            return
        try:
            options = self.options_bar.options()
        except LanternError:
            return
        self._count_generation += 1
        generation = self._count_generation
        words = self.document_input.words()
        estimate = self.options_bar.model_picker.capabilities().exact_token_counts
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.summarize.plan(source, options, model_id=model_id),
            lambda plan: self._show_counts(generation, words, plan, estimate),
            lambda error: self._counts_failed(generation, words, error),
        )

    def _show_counts(
        self, generation: int, words: int, plan: SummaryPlan, estimate: str | None
    ) -> None:
        """`estimate`: why the model's tokens are estimated, if they are (the tooltip)."""
        if generation == self._count_generation:
            line = counts_line(words, plan, estimated=estimate is not None)
            self.document_input.set_counts(line, estimate or "")

    def _counts_failed(self, generation: int, words: int, error: BaseException) -> None:
        if generation != self._count_generation:
            return
        if isinstance(error, ModelNotLoadedYet):
            self._count_after_run = True
            self.document_input.set_counts(
                f"{counts_line(words)} · {NOT_COUNTED_YET}", error.message
            )
        else:
            self.document_input.set_counts(
                counts_line(words), f"Tokens could not be counted: {error_text(error)}"
            )

    def counts_text(self) -> str:
        return self.document_input.counts.text()

    # ---- running a summary ----

    def summarize(self) -> None:
        if self.is_running() or self._closed:
            return
        source = self.document_input.source()
        if not source.text.strip():
            self.status.show_error("There is no text to summarize: paste some, or open a file.")
            return
        model_id = self.options_bar.model_id()
        if model_id is None:
            self.status.show_error(NO_MODEL)
            return
        try:
            options = self.options_bar.options()
        except LanternError as exc:
            self.status.show_error(exc)
            return
        self._count_later.cancel()
        self._current = None
        self._versions = []
        self.sessions.set_current(None)
        self.close_comparison()
        self.summary_view.set_markdown("")
        self.notes.set_parts([])
        self.result_notice.clear_message()
        self.status.clear_message()
        self.result_title.setText("<b>Summary</b>")
        self.progress.setRange(0, 0)  # busy until the first step says how many there are
        self.progress.setFormat("Loading the model…")

        lantern = self._lantern
        self._summary_run = None
        self._ended_status = "failed"  # unless the run says otherwise
        self._run.start(lambda: lantern.summarize.summarize(source, options, model_id=model_id))
        self._update_actions()

    def cancel(self) -> None:
        if not self.is_running():
            return
        self._run.cancel()
        self.cancel_button.setEnabled(False)
        self.progress.setFormat("Cancelling…")

    def _run_started(self, run: SummaryRun) -> None:
        self._summary_run = run
        self.sessions.refresh()  # the new session is saved: it shows as being written

    def _on_event(self, event: SummaryEvent) -> None:
        if isinstance(event, SummaryPiece):
            self.summary_view.append(event.text)
        elif isinstance(event, NotesPiece):
            self.notes.add_piece(event.part, event.text)
        elif isinstance(event, NotesDone):
            self.notes.part_done(event.part, event.text)
        elif isinstance(event, StepStarted):
            self.progress.setRange(0, event.steps)
            self.progress.setValue(event.step - 1)
            about = f"about {time_left_text(event.eta_s)}" if event.eta_s is not None else ""
            parts = [f"step {event.step} of {event.steps}", event.label, about]
            self.progress.setFormat(" · ".join(part for part in parts if part))
        elif isinstance(event, PlanMade):
            chunks = len(event.plan.chunks)
            if chunks > 1:
                self.progress.setFormat(f"Reading the text in {chunks} parts…")

    def _on_finished(self, outcome: SummaryOutcome) -> None:
        self._ended(outcome.record, outcome.status, outcome.error)

    def _on_failed(self, error: BaseException) -> None:
        outcome = self._summary_run.outcome if self._summary_run is not None else None
        if outcome is not None:  # it had started: what it wrote is saved
            self._ended(outcome.record, outcome.status, error_text(error))
        else:  # it never started (no text, no model...): nothing was saved
            self.summary_view.flush()
            self.status.show_error(error)

    def _ended(self, record: SummaryRecord, status: RunStatus, error: str | None) -> None:
        self.summary_view.flush()
        self.notes.flush()
        self._ended_status = status
        self._current = record
        self.sessions.set_current(record.id)
        self.summary_view.set_markdown(record.result)  # as saved: the view matches the store
        self._show_status(status, error)
        self.sessions.refresh()
        self._read_versions(record.id, compare=True)

    def _run_ended(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self._update_actions()
        if self._count_after_run:
            self._count_after_run = False
            self._count_later.restart()
        self.run_ended.emit(self._ended_status)

    def _show_status(self, status: RunStatus, error: str | None) -> None:
        if status in ("failed", "interrupted"):
            self.status.show_error(
                f"The summary {'failed' if status == 'failed' else 'was interrupted'}: "
                f"{(error or 'no reason was given').rstrip('.')}. What was written is kept."
            )
        elif status == "running":
            self.status.show_info("This summary is still being written.")
        elif status in OUTCOME_MESSAGES:
            self.status.show_info(OUTCOME_MESSAGES[status])
        else:
            self.status.clear_message()

    def status_text(self) -> str:
        return self.status.message

    # ---- versions of the same text ----

    def _read_versions(self, summary_id: int, *, compare: bool) -> None:
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.summarize.versions(summary_id),
            lambda records: self._show_versions(summary_id, records, compare),
            self.result_notice.show_error,
        )

    def _show_versions(self, summary_id: int, records: list[SummaryRecord], compare: bool) -> None:
        if self._current is None or self._current.id != summary_id:
            return  # another summary is shown now
        self._versions = records
        self.versions_view.show_versions(records)
        self._update_actions()
        if compare and len(records) > 1:
            self.show_comparison()

    def show_comparison(self) -> None:
        if len(self._versions) > 1:
            self.result_stack.setCurrentWidget(self.versions_view)
            self.result_title.setText("<b>Versions</b>")
            self._update_actions()

    def close_comparison(self) -> None:
        self.result_stack.setCurrentWidget(self.summary_view)
        self.result_title.setText("<b>Summary</b>")
        self._update_actions()

    def comparing(self) -> bool:
        return self.result_stack.currentWidget() is self.versions_view

    def _open_version(self, summary_id: int) -> None:
        """A version's Open: that summary alone, even the one shown (out of the comparison)."""
        self.sessions.open(
            summary_id, again=True, show=lambda record: self._show_summary(record, compare=False)
        )

    # ---- the saved summaries (SavedSessions' owner) ----

    def history_row(self, record: SummaryRecord) -> HistoryRow:
        return HistoryRow(
            record.id,
            record.title,
            f"{local_time(record.updated_at)} · {status_words(record.status)}",
        )

    def show_session(self, record: SummaryRecord) -> None:
        """A saved summary: its source, options, result, notes, and its versions compared."""
        self._show_summary(record, compare=True)

    def _show_summary(self, record: SummaryRecord, *, compare: bool) -> None:
        self._current = record
        self._versions = []  # until its own are read
        self.document_input.set_source(SourceText(record.source_text, record.source_name))
        try:
            self.options_bar.set_options(SummaryOptions.from_dict(record.options))
        except LanternError:
            log.warning("Summary %s has options this version cannot read", record.id)
        self.options_bar.choose_model(record.model_id)
        self.close_comparison()
        self.summary_view.set_markdown(record.result)
        self.notes.set_parts(record.partials)
        self.result_notice.clear_message()
        self._show_status(record.status, record.error)
        if record.status == "complete":
            self.status.clear_message()
        self._update_actions()
        self._read_versions(record.id, compare=compare)

    def clear_session(self) -> None:
        self._current = None
        self._versions = []
        self.document_input.set_source(SourceText(""))
        self.summary_view.set_markdown("")
        self.notes.set_parts([])
        self.close_comparison()
        self.status.clear_message()
        self.result_notice.clear_message()
        self.document_input.set_counts("")
        self._update_actions()
        self.document_input.text_box.setFocus()

    def session_deleted(self, summary_id: int, *, shown: bool) -> None:
        if shown:
            self.clear_session()
        elif self._current is not None and any(v.id == summary_id for v in self._versions):
            self._read_versions(self._current.id, compare=self.comparing())

    # ---- copy and export ----

    def copy_summary(self) -> None:
        text = self.summary_view.markdown()
        if not text.strip():
            self.result_notice.show_error("There is no summary to copy yet.")
            return
        # Plain text, which is the Markdown: a QMimeData handed to the clipboard from Python
        # crashes the interpreter at exit (PySide 6, seen under the offscreen platform).
        QGuiApplication.clipboard().setText(text)
        self.result_notice.show_info("Copied as Markdown.")

    def _choose_export_file(self) -> None:
        if self._current is None:
            return
        name = f"Summary of {Path(self._current.title).stem}"
        chosen = self.sessions.choose_export("Export summary", name)
        if chosen is not None:
            self.export_to(*chosen)

    def export_to(self, path: Path, fmt: ExportFormat) -> None:
        """Write the summary shown to `path` as md, txt or docx, in the background."""
        if self._current is None:
            self.result_notice.show_error("There is no summary to export yet.")
            return
        summary_id, lantern = self._current.id, self._lantern
        self.sessions.export(
            path, lambda: lantern.summarize.export_file(summary_id, path, fmt), self.result_notice
        )

    # ---- buttons ----

    def _update_actions(self) -> None:
        running = self.is_running()
        has_model = self.options_bar.model_id() is not None
        has_text = bool(self.document_input.text_box.toPlainText().strip())
        has_result = self._current is not None and bool(self._current.result.strip())
        self.summarize_button.setEnabled(not running and has_model and has_text)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        self.sessions.history.setEnabled(not running)
        self.copy_button.setEnabled(not running and has_result)
        self.export_button.setEnabled(not running and has_result)
        versions = len(self._versions)
        self.compare_button.setVisible(versions > 1 and not running and not self.comparing())
        self.compare_button.setText(f"Compare versions ({versions})")
