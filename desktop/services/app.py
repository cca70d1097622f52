"""Everything a running Lantern needs, built once: paths, settings, database, models, engine.
The GUI and the CLI each make one `Lantern` and call its services."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

from desktop.engine.client import EngineClient
from desktop.models.installed import ModelLibrary
from desktop.paths import AppPaths, app_paths
from desktop.services.chat import ChatService
from desktop.services.models import ModelService
from desktop.settings import Settings, load_settings
from desktop.store.db import Database

log = logging.getLogger(__name__)


@dataclass
class Lantern:
    paths: AppPaths = field(default_factory=app_paths)

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.paths.settings_file)

    @cached_property
    def database(self) -> Database:
        return Database(self.paths.database)

    @cached_property
    def engine(self) -> EngineClient:
        return EngineClient(self.paths.logs / "engine.log")

    @cached_property
    def models(self) -> ModelService:
        return ModelService(ModelLibrary(self.paths.models, self.paths.cache), self.settings)

    @cached_property
    def chat(self) -> ChatService:
        return ChatService(self.database, self.models, self.engine, self.settings)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.close()
        if "database" in self.__dict__:
            self.database.close()
