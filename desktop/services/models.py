"""Installed models: list, import, remove, and which one a chat uses."""

from __future__ import annotations

import os
from pathlib import Path

from desktop.errors import NoModelInstalled
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.models.starter import fetch_starter_model
from desktop.settings import Settings


class ModelService:
    def __init__(self, library: ModelLibrary, settings: Settings) -> None:
        self.library = library
        self._settings = settings

    def list(self) -> list[InstalledModel]:
        return self.library.list()

    def get(self, model_id: str) -> InstalledModel:
        return self.library.get(model_id)

    def import_file(self, path: Path) -> InstalledModel:
        return self.library.import_file(path)

    def remove(self, model_id: str) -> InstalledModel:
        return self.library.remove(model_id)

    def choose(self, model_id: str | None = None) -> InstalledModel:
        """The model asked for; else the default one from the settings; else the first installed."""
        if model_id:
            return self.library.get(model_id)
        installed = self.library.list()
        if not installed:
            raise NoModelInstalled(
                "No model is installed yet. Run `lantern models install-starter` for the small "
                "starter model, or `lantern models import PATH` for a GGUF you have."
            )
        default = self._settings.default_model_id
        return next((m for m in installed if m.id == default), installed[0])

    def install_starter(self, cache_dir: Path) -> InstalledModel | None:
        """Install the starter model if no model is installed; None when one already is."""
        if self.library.list():
            return None
        cache = Path(os.environ.get("LANTERN_STARTER_CACHE") or cache_dir)
        return self.library.import_file(fetch_starter_model(cache))
