"""The models to choose from, as the Chat, Summarize, Translate and Playground pages show them:
an installed one as "id · quantization · size", a remote server's as "model · on server"; the
model's id as the item's data. The chosen model's options (what it can do) are at hand for a
page to grey out the rest."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget

from desktop.engine.text_model import LOCAL_CAPABILITIES, Capabilities
from desktop.models.remotes import split_remote_model_id
from desktop.services.models import ModelOption
from desktop.ui.models.formatting import size_text


def option_label(option: ModelOption) -> str:
    if option.installed is not None:
        model = option.installed
        return f"{model.id} · {model.info.quantization} · {size_text(model.size_bytes)}"
    split = split_remote_model_id(option.id)
    return f"{split[1] if split else option.id} · on {option.remote}"


def option_tooltip(option: ModelOption) -> str:
    if option.installed is not None:
        return str(option.installed.path)
    return f"{option.id}\nRuns on the server {option.remote}, which you added on the Models page."


class ModelPicker(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Model")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.options: dict[str, ModelOption] = {}  # by id: those listed
        self.currentIndexChanged.connect(lambda _index: self._show_tooltip())

    def show_models(
        self, models: Sequence[ModelOption], default_id: str | None, *, wanted: str | None = None
    ) -> None:
        """List `models`. The one `wanted`, else the one chosen now, stays chosen while it is
        listed; else `default_id`, else the first. A refresh is not announced as a choice."""
        self.options = {model.id: model for model in models}
        keep = next((m for m in (wanted, self.currentData()) if m in self.options), default_id)
        self.blockSignals(True)
        self.clear()
        for row, model in enumerate(models):
            self.addItem(option_label(model), model.id)
            self.setItemData(row, option_tooltip(model), Qt.ItemDataRole.ToolTipRole)
        index = self.findData(keep) if keep is not None else -1
        self.setCurrentIndex(index if index >= 0 else (0 if models else -1))
        self.blockSignals(False)
        self._show_tooltip()

    def choose(self, model_id: str | None) -> None:
        """Pick `model_id` if it is listed (a saved session's model may be gone)."""
        index = self.findData(model_id) if model_id else -1
        if index >= 0:
            self.setCurrentIndex(index)

    def chosen(self) -> ModelOption | None:
        return self.options.get(self.currentData())

    def capabilities(self) -> Capabilities:
        """What the chosen model can do (with none chosen, all of it: nothing runs anyway)."""
        chosen = self.chosen()
        return chosen.capabilities if chosen is not None else LOCAL_CAPABILITIES

    def _show_tooltip(self) -> None:
        chosen = self.chosen()
        self.setToolTip(option_tooltip(chosen) if chosen is not None else "")
