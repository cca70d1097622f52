"""The Summarize page: a text (typed, pasted or from a file) made into a summary with the
options chosen, streamed as it is written, saved, compared with the other summaries of the
same text, copied or exported; and the saved summaries, searchable, to open again.

Every read and write goes through the window's BackgroundTasks, the summary itself through a
TaskRun in a thread of its own (a child of this page); the page only shows what comes back.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QThread, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import LanternError
from desktop.services.summarize import (
    NotesDone,
    NotesPiece,
    PlanMade,
    StepStarted,
    SummaryOutcome,
    SummaryPiece,
    SummaryPlan,
)
from desktop.tasks.documents import SourceText
from desktop.tasks.summary import SummaryOptions
from desktop.ui.error_text import error_text
from desktop.ui.models.formatting import time_left_text
from desktop.ui.summarize.notes_area import NotesArea
from desktop.ui.summarize.options_bar import SummaryOptionsBar
from desktop.ui.summarize.result_view import SummaryView
from desktop.ui.summarize.versions_view import VersionsView
from desktop.ui.widgets.document_input import DocumentInput
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
    from desktop.store.summaries import SummaryRecord
    from desktop.ui.bridge import BackgroundTasks

log = logging.getLogger(__name__)

COUNT_DELAY_MS = 700  # count tokens once typing pauses: counting loads the model
EXPORT_FILTERS = {
    "Markdown (*.md)": "md",
    "Plain text (*.txt)": "txt",
    "Word document (*.docx)": "docx",
}
OUTCOME_MESSAGES = {
    "complete": "Done: the summary is saved.",
    "cancelled": "Cancelled: the notes and the text written so far are kept.",
}


def counts_line(words: int, plan: SummaryPlan | None = None) -> str:
    line = f"{words:,} word{'' if words == 1 else 's'}"
    if plan is None:
        return line
    passes = f"{plan.passes} pass{'' if plan.passes == 1 else 'es'}"
    return f"{line} · {plan.tokens:,} tokens · {passes}"


class SummarizePage(QWidget):
    run_ended = Signal(str)  # complete | cancelled | failed | interrupted, once the thread ends

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._lantern = lantern
        self._tasks = tasks
        self._task: TaskRun | None = None
        self._thread: QThread | None = None
        self._ended_status = ""
        self._closed = False
        self._current: SummaryRecord | None = None  # the summary shown (run or opened)
        self._versions: list[SummaryRecord] = []
        self._opening: int | None = None
        self._count_generation = 0
        self._history_generation = 0
        self._count_after_run = False
        self._build()
        self._connect()
        self._update_actions()

    # ---- layout ----

    def _build(self) -> None:
        self.history = SessionHistory("summary", "summaries")
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

        work = QSplitter(Qt.Orientation.Vertical)
        work.setChildrenCollapsible(False)
        work.addWidget(top)
        work.addWidget(bottom)
        work.setSizes([320, 360])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.setChildrenCollapsible(False)
        main.addWidget(self.history)
        main.addWidget(work)
        main.setStretchFactor(1, 1)
        main.setSizes([240, 760])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(main)

        self.cancel_shortcut = run_shortcuts(self, self.summarize, self.cancel)

        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(COUNT_DELAY_MS)
        self._count_timer.timeout.connect(self._count)

    def _connect(self) -> None:
        self.document_input.changed.connect(self._text_changed)
        self.options_bar.changed.connect(self._options_changed)
        self.summarize_button.clicked.connect(lambda _checked=False: self.summarize())
        self.cancel_button.clicked.connect(lambda _checked=False: self.cancel())
        self.copy_button.clicked.connect(lambda _checked=False: self.copy_summary())
        self.export_button.clicked.connect(lambda _checked=False: self._choose_export_file())
        self.compare_button.clicked.connect(lambda _checked=False: self.show_comparison())
        self.versions_view.closed.connect(self.close_comparison)
        self.versions_view.open_requested.connect(
            lambda summary_id: self.open_summary(summary_id, compare=False)
        )
        self.history.search_changed.connect(lambda _query: self.refresh_history())
        self.history.opened.connect(self.open_summary)
        self.history.new_requested.connect(self.new_summary)
        self.history.delete_requested.connect(self.delete_summary)

    # ---- what the window calls ----

    def set_models(self, models: list[InstalledModel], default_id: str | None) -> None:
        self.options_bar.set_models(models, default_id)
        if not models:
            self.status.show_info("Install a model on the Models page to summarize.")
        elif not self.is_running() and self.status.message.startswith("Install a model"):
            self.status.clear_message()
        self._update_actions()

    def start(self) -> None:
        """The window opened: read the saved summaries."""
        self.refresh_history()

    def shutdown(self) -> None:
        """The window is closing: cancel the run and wait for its thread."""
        if self._closed:
            return
        self._closed = True
        self._count_timer.stop()
        if self._task is not None:
            self._task.cancel()
        if self._thread is not None:
            self._thread.wait()  # the run ends at the next token (or once a model load ends)
        self._task = self._thread = None
        self.summary_view.flush()
        self.notes.flush()

    def is_running(self) -> bool:
        return self._thread is not None

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
            self._count_timer.start()
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
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.summarize.plan(source, options, model_id=model_id),
            lambda plan: self._show_counts(generation, words, plan),
            lambda error: self._counts_failed(generation, words, error),
        )

    def _show_counts(self, generation: int, words: int, plan: SummaryPlan) -> None:
        if generation == self._count_generation:
            self.document_input.set_counts(counts_line(words, plan))

    def _counts_failed(self, generation: int, words: int, error: BaseException) -> None:
        if generation == self._count_generation:
            self.document_input.set_counts(counts_line(words))
            self.document_input.counts.setToolTip(
                f"Tokens could not be counted: {error_text(error)}"
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
            self.status.show_error("Install a model on the Models page to summarize.")
            return
        try:
            options = self.options_bar.options()
        except LanternError as exc:
            self.status.show_error(exc.message)
            return
        self._count_timer.stop()
        self._current = None
        self._versions = []
        self._opening = None
        self.history.clear_selection()
        self.close_comparison()
        self.summary_view.set_markdown("")
        self.notes.set_parts([])
        self.result_notice.clear_message()
        self.status.clear_message()
        self.result_title.setText("<b>Summary</b>")
        self.progress.setRange(0, 0)  # busy until the first step says how many there are
        self.progress.setFormat("Loading the model…")

        lantern = self._lantern
        self._ended_status = ""
        self._task = TaskRun(
            lambda: lantern.summarize.summarize(source, options, model_id=model_id)
        )
        self._task.started.connect(self._run_started)
        self._task.yielded.connect(self._on_event)
        self._task.finished.connect(self._on_finished)
        self._task.failed.connect(self._on_failed)
        self._thread = task_thread(self._task, self)
        self._thread.finished.connect(self._thread_finished)
        self._update_actions()
        self._thread.start()

    def cancel(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        self.cancel_button.setEnabled(False)
        self.progress.setFormat("Cancelling…")

    def _run_started(self, _run: Any) -> None:
        self.refresh_history()  # the new session is saved: it shows as being written

    def _on_event(self, event: object) -> None:
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

    def _on_failed(self, message: str) -> None:
        run = self._task.run_object if self._task is not None else None
        outcome = getattr(run, "outcome", None)
        if outcome is not None:
            self._ended(outcome.record, outcome.status, message)
        else:  # it never started (no text, no model...): nothing was saved
            self.summary_view.flush()
            self._ended_status = "failed"
            self.status.show_error(message)

    def _ended(self, record: SummaryRecord, status: str, error: str | None) -> None:
        self.summary_view.flush()
        self.notes.flush()
        self._ended_status = status
        self._current = record
        self.summary_view.set_markdown(record.result)  # as saved: the view matches the store
        self._show_status(status, error)
        self.refresh_history(select=record.id)
        self._read_versions(record.id, compare=True)

    def _thread_finished(self) -> None:
        if self._thread is not None:
            self._thread.wait()  # finished is emitted just before the thread really ends
            self._thread.deleteLater()
        self._task = self._thread = None
        if self._closed:
            return
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self._update_actions()
        if self._count_after_run:
            self._count_after_run = False
            self._count_timer.start()
        self.run_ended.emit(self._ended_status or "failed")

    def _show_status(self, status: str, error: str | None) -> None:
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

    # ---- history ----

    def refresh_history(self, select: int | None = None) -> None:
        lantern, query = self._lantern, self.history.query()
        self._history_generation += 1
        generation = self._history_generation
        self._tasks.run(
            lambda: lantern.summarize.sessions(query),
            lambda records: self._show_history(generation, records, select),
            self.status.show_error,
        )

    def _show_history(
        self, generation: int, records: list[SummaryRecord], select: int | None
    ) -> None:
        if generation == self._history_generation:  # reads can end out of order
            rows = [
                HistoryRow(r.id, r.title, f"{local_time(r.updated_at)} · {status_words(r.status)}")
                for r in records
            ]
            self.history.show_rows(rows, select)

    def open_summary(self, summary_id: int, *, compare: bool = True) -> None:
        """Show a saved summary: its source, options, result, notes and versions."""
        if self.is_running() or self._closed:
            return
        if self._current is not None and self._current.id == summary_id and compare:
            return  # shown already (a click and an activation both ask)
        self._opening = summary_id
        lantern = self._lantern
        self._tasks.run(
            lambda: (
                lantern.summarize.session(summary_id),
                lantern.summarize.versions(summary_id),
            ),
            lambda found: self._show_summary(*found, compare=compare),
            self.status.show_error,
        )

    def _show_summary(
        self, record: SummaryRecord, versions: list[SummaryRecord], *, compare: bool
    ) -> None:
        if self._opening != record.id or self.is_running():
            return  # another was asked for meanwhile
        self._opening = None
        self._current = record
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
        self.history.select(record.id)
        self._show_versions(record.id, versions, compare)
        self._update_actions()

    def new_summary(self) -> None:
        if self.is_running():
            return
        self._current = None
        self._versions = []
        self._opening = None
        self.history.clear_selection()
        self.document_input.set_source(SourceText(""))
        self.summary_view.set_markdown("")
        self.notes.set_parts([])
        self.close_comparison()
        self.status.clear_message()
        self.result_notice.clear_message()
        self.document_input.set_counts("")
        self._update_actions()
        self.document_input.text_box.setFocus()

    def delete_summary(self, summary_id: int) -> None:
        if self.is_running() or not self.confirm_delete():
            return
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.summarize.delete(summary_id),
            lambda _none: self._deleted(summary_id),
            self.status.show_error,
        )

    def confirm_delete(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Delete summary",
            "Delete this summary? It cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _deleted(self, summary_id: int) -> None:
        if self._current is not None and self._current.id == summary_id:
            self.new_summary()
        elif any(v.id == summary_id for v in self._versions) and self._current is not None:
            self._read_versions(self._current.id, compare=self.comparing())
        self.refresh_history()

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
        suggested = f"Summary of {Path(self._current.title).stem}.md"
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export summary", suggested, ";;".join(EXPORT_FILTERS)
        )
        if not path:
            return
        target = Path(path)
        fmt = target.suffix.lower().lstrip(".")
        if fmt not in EXPORT_FILTERS.values():
            fmt = EXPORT_FILTERS.get(chosen, "md")
            target = target.with_name(f"{target.name}.{fmt}")
        self.export_to(target, fmt)

    def export_to(self, path: Path, fmt: str) -> None:
        """Write the summary shown to `path` as md, txt or docx, in the background."""
        if self._current is None:
            self.result_notice.show_error("There is no summary to export yet.")
            return
        summary_id, lantern = self._current.id, self._lantern

        def write() -> None:
            try:
                lantern.summarize.export_file(summary_id, path, fmt)  # type: ignore[arg-type]
            except OSError as exc:
                raise LanternError(f"Cannot write {path.name}: {exc.strerror or exc}.") from exc

        self.result_notice.show_info(f"Exporting to {path.name}…")
        self._tasks.run(
            write,
            lambda _none: self.result_notice.show_info(f"Exported to {path}."),
            self.result_notice.show_error,
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
        self.history.setEnabled(not running)
        self.copy_button.setEnabled(not running and has_result)
        self.export_button.setEnabled(not running and has_result)
        versions = len(self._versions)
        self.compare_button.setVisible(versions > 1 and not running and not self.comparing())
        self.compare_button.setText(f"Compare versions ({versions})")
