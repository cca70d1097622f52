"""One side of the Playground's output: the model it runs, the answer token by token, and
how the run went (tokens per second, time to the first token, token counts).

Its slots take a side's run signals (its PageRun's, on the GUI thread)."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.engine.protocol import GenerationStats
from desktop.services.playground import PlaygroundRun, RunProgress
from desktop.ui.error_text import error_text
from desktop.ui.models.formatting import stats_line
from desktop.ui.playground.token_view import TokenView
from desktop.ui.widgets.model_picker import ModelPicker

CODE_HINT = "The same request as a llama-cpp-python or OpenAI-client call"
STATUS_WORDS = {
    "running": "running…",
    "loading": "loading the model…",
    "complete": "done",
    "cancelled": "stopped",
    "failed": "failed",
    "interrupted": "interrupted",
}


def stats_text(stats: GenerationStats) -> str:
    """The chat's stats line, and the seed: what repeats the run."""
    line = stats_line(dataclasses.asdict(stats))
    return f"{line} · seed {stats.seed}" if stats.seed is not None else line


class LaneView(QWidget):
    failed = Signal(object)  # the exception a run of this side failed with

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.run_id: int | None = None  # the run shown, saved
        self.model_picker = ModelPicker()
        self.model_picker.setAccessibleName(f"Model {name}")
        # Both sides as wide as each other, whatever the models' names.
        self.model_picker.setSizeAdjustPolicy(
            ModelPicker.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_picker.setMinimumContentsLength(12)
        self.settings_label = QLabel("")
        self.settings_label.setWordWrap(True)
        self.code_button = QPushButton("Copy as code…")
        self.code_button.setAccessibleName(f"Copy as code {name}")
        self.code_button.setToolTip(CODE_HINT)
        self.view = TokenView()
        self.view.setAccessibleName(f"Output {name}")
        self.status_label = QLabel("")
        self.status_label.setAccessibleName(f"Run {name}")
        self.status_label.setWordWrap(True)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(QLabel(f"<b>{name}</b>"))
        header.addWidget(self.model_picker, 1)
        header.addWidget(self.code_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.settings_label)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status_label)

    def allow_code(self, reason: str | None) -> None:
        """Copy as code greyed out with `reason` (None: offered)."""
        self.code_button.setEnabled(reason is None)
        self.code_button.setToolTip(reason or CODE_HINT)

    def show_status(
        self, status: str, stats: GenerationStats | None = None, error: str = ""
    ) -> None:
        words = STATUS_WORDS.get(status, status)
        line = f"{words.capitalize()}" + (f" · {stats_text(stats)}" if stats else "")
        self.status_label.setText(f"{line}. {error}" if error else line)

    # ---- a run of this side ----

    @Slot(object)
    def run_started(self, run: PlaygroundRun) -> None:
        self.run_id = run.run_id
        self.view.show_answer(run.output, run.tokens)  # a forced run starts with kept tokens
        self.show_status("running")

    @Slot(object)
    def run_progress(self, progress: RunProgress) -> None:
        if progress.tokens:
            self.view.append_tokens(progress.tokens)
        elif progress.text:
            self.view.append_text(progress.text)

    @Slot(object)
    def run_finished(self, run: PlaygroundRun) -> None:
        self.view.flush()
        self.show_status(run.status, run.stats)

    @Slot(object)
    def run_failed(self, error: BaseException) -> None:
        self.view.flush()
        self.show_status("failed", error=error_text(error))
        self.failed.emit(error)

    def clear_run(self) -> None:
        self.run_id = None
        self.view.clear_answer()
        self.show_status("")
