"""How much of the model's context window the conversation fills, after its latest answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QProgressBar, QWidget

from desktop.tasks.chat import context_use


class ContextMeter(QProgressBar):
    def __init__(self, default_window: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._default_window = default_window
        self.setAccessibleName("Context used")
        self.setTextVisible(True)
        # Its usual texts on one line, beside the model's name.
        usual = self.fontMetrics().horizontalAdvance("Context: 3,210 / 4,096 tokens")
        self.setMinimumWidth(usual + 24)
        self.setMaximumWidth(max(260, usual + 24))
        self.show_usage(None)

    def show_usage(self, stats: Mapping[str, Any] | None, *, has_messages: bool = False) -> None:
        """From the latest answer's stored stats; empty for a new conversation. A conversation
        with no measured answer (imported, or every answer failed) is measured at its next."""
        use = context_use(stats, self._default_window)
        if use is None:
            self.setRange(0, 1)
            self.setValue(0)
            self.setFormat("Context: not measured yet" if has_messages else "Context: empty")
            self.setToolTip(
                "How much of the model's context window this conversation fills"
                + (", known once the next answer is written." if has_messages else ".")
            )
            return
        used, window = use
        self.setRange(0, window)
        self.setValue(min(used, window))
        self.setFormat(f"Context: {used:,} / {window:,} tokens")
        dropped = int((stats or {}).get("dropped_messages") or 0)
        note = (
            f"\n{dropped} earlier messages were left out of the last answer's prompt to fit."
            if dropped
            else ""
        )
        self.setToolTip(
            f"The conversation fills {used / window:.0%} of the model's context window.{note}\n"
            "When it is full, the oldest turns after the system prompt are left out "
            "(or Lantern stops, if the conversation is set to)."
        )
