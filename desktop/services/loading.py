"""Loading a model into the engine, shared by every feature that generates: one engine, one
model in it at a time, and a load refused up front when the machine cannot hold it."""

from __future__ import annotations

import threading

from desktop.engine.client import EngineClient
from desktop.engine.protocol import ModelLoaded
from desktop.errors import NotEnoughMemory
from desktop.models.installed import InstalledModel
from desktop.services.models import ModelService
from desktop.settings import Settings


class ModelLoader:
    def __init__(self, models: ModelService, engine: EngineClient, settings: Settings) -> None:
        self._models = models
        self._engine = engine
        self._settings = settings
        self._lock = threading.Lock()

    def ensure_loaded(self, model: InstalledModel) -> ModelLoaded:
        """Load `model` into the engine unless it is already there (a crash unloads it)."""
        context = min(self._settings.context_length, model.info.context_length)
        with self._lock:
            loaded = self._engine.loaded
            if loaded and loaded.model_path == str(model.path) and loaded.context_length == context:
                return loaded
            self._refuse_if_too_big(model, context)
            return self._engine.load(
                model.path,
                context_length=context,
                threads=self._settings.threads,
                gpu_layers=self._settings.gpu_layers,
                shape=model.info.shape,
            )

    def _refuse_if_too_big(self, model: InstalledModel, context: int) -> None:
        """NotEnoughMemory, saying what would fit, for a model this machine cannot hold: a
        load that runs out of memory can take the whole computer down with it."""
        estimate = self._models.fit(model.info, context)
        if estimate.verdict == "too_big" and self._engine.loaded is not None:
            self._engine.unload()  # the model loaded now holds memory the new one may use
            estimate = self._models.fit(model.info, context)
        if estimate.verdict == "too_big":
            raise NotEnoughMemory(f"{model.id} cannot be loaded. {estimate.summary()}")
