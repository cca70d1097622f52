"""The installed models to choose from, as the Chat, Summarize and Translate pages show them:
"id · quantization · size", the model's id as the item's data."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QComboBox, QWidget

from desktop.models.installed import InstalledModel
from desktop.ui.models.formatting import size_text


class ModelPicker(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Model")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

    def show_models(
        self, models: Sequence[InstalledModel], default_id: str | None, *, wanted: str | None = None
    ) -> None:
        """List `models`. The one `wanted`, else the one chosen now, stays chosen while it is
        installed; else `default_id`, else the first. A refresh is not announced as a choice."""
        ids = {model.id for model in models}
        keep = next((m for m in (wanted, self.currentData()) if m in ids), default_id)
        self.blockSignals(True)
        self.clear()
        for model in models:
            label = f"{model.id} · {model.info.quantization} · {size_text(model.size_bytes)}"
            self.addItem(label, model.id)
        index = self.findData(keep) if keep is not None else -1
        self.setCurrentIndex(index if index >= 0 else (0 if models else -1))
        self.blockSignals(False)

    def choose(self, model_id: str | None) -> None:
        """Pick `model_id` if it is listed (a saved session's model may be gone)."""
        index = self.findData(model_id) if model_id else -1
        if index >= 0:
            self.setCurrentIndex(index)
