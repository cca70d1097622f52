"""The line that says how indexing goes: a bar of the files done, "12 of 40 files · 340
passages · 3 min left", the file being read, and Pause/Resume and Cancel. It only shows: the
page drives the run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from desktop.services.indexing import IndexProgress
from desktop.ui.models.formatting import time_left_text


def progress_words(progress: IndexProgress) -> str:
    """'Indexing: 12 of 40 files · 340 passages · 3 min left · 1 failed'."""
    state = {"running": "Indexing", "paused": "Paused", "ended": "Indexed"}[progress.state]
    parts = [
        f"{state}: {progress.files_done:,} of {progress.files_total:,} "
        f"file{'' if progress.files_total == 1 else 's'}",
        f"{progress.passages:,} passage{'' if progress.passages == 1 else 's'}",
    ]
    if progress.state == "running" and (left := time_left_text(progress.seconds_left)):
        parts.append(left)
    if progress.failed:
        parts.append(f"{progress.failed:,} failed")
    return " · ".join(parts)


class ProgressLine(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setAccessibleName("Indexing progress")
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(220)
        self.words = QLabel()
        self.words.setAccessibleName("Indexing")
        self.current = QLabel()  # the file being read
        self.current.setAccessibleName("File being indexed")
        self.current.setMinimumWidth(40)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setAccessibleName("Pause indexing")
        self.pause_button.setToolTip("Pause after the file being read; Resume goes on from there")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel indexing")
        self.cancel_button.setToolTip(
            "Stop indexing: the files done stay indexed, the others stay queued"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.words)
        layout.addWidget(self.current, 1)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        self.hide()

    def show_progress(self, progress: IndexProgress, *, pause_asked: bool) -> None:
        """The run's latest event; `pause_asked`: the run pauses (or has paused) once the file
        it reads is done."""
        self.bar.setRange(0, max(progress.files_total, 1))
        self.bar.setValue(progress.files_done)
        self.words.setText(progress_words(progress))
        name = Path(progress.current).name if progress.current else ""
        self.current.setText(f"Pausing after {name}…" if pause_asked and name else name)
        self.current.setToolTip(progress.current or "")
        self.pause_button.setText("Resume" if pause_asked else "Pause")
        self.pause_button.setAccessibleName("Resume indexing" if pause_asked else "Pause indexing")
        self.pause_button.setEnabled(progress.state != "ended")
        self.cancel_button.setEnabled(progress.state != "ended")
        self.show()
