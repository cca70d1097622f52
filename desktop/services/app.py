"""Everything a running Lantern needs: paths, settings, database, models, engines. Each part
is built on first use (the GUI builds them off its own thread) and only once, even when two
threads ask at the same moment. The GUI and the CLI each make one `Lantern`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from desktop.engine.pool import EnginePool, EngineSettings
from desktop.models.installed import ModelLibrary
from desktop.paths import AppPaths, app_paths
from desktop.services.chat import ChatService
from desktop.services.documents import DocumentService
from desktop.services.downloads import DownloadQueue
from desktop.services.history import HistoryService
from desktop.services.models import ModelService
from desktop.services.playground import PlaygroundService
from desktop.services.remotes import RemoteService
from desktop.services.serving import ServingService
from desktop.services.summarize import SummaryService
from desktop.services.translate import TranslationService
from desktop.settings import Settings, load_settings, save_settings, with_changes
from desktop.store.db import Database
from desktop.store.documents import DocumentStore
from desktop.store.downloads import DownloadRepository

T = TypeVar("T")


class Lantern:
    def __init__(self, paths: AppPaths | None = None) -> None:
        self.paths = paths or app_paths()
        self._parts: dict[str, Any] = {}
        self._lock = threading.RLock()

    def _part(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._parts:
                self._parts[name] = build()
            return self._parts[name]

    @property
    def settings(self) -> Settings:
        return self._part("settings", lambda: load_settings(self.paths.settings_file))

    def change_settings(self, **changes: Any) -> Settings:
        """Save `changes` over the settings file as it is now (another Lantern may have written
        it). Parts already built keep the settings they were built with."""
        with self._lock:
            settings = with_changes(load_settings(self.paths.settings_file), **changes)
            save_settings(self.paths.settings_file, settings)
            self._parts["settings"] = settings
        return settings

    @property
    def database(self) -> Database:
        return self._part("database", lambda: Database(self.paths.database))

    @property
    def engines(self) -> EnginePool:
        """The engine processes every feature generates with (engine/pool.py)."""
        return self._part("engines", self._new_engine_pool)

    def _new_engine_pool(self) -> EnginePool:
        settings = self.settings
        return EnginePool(
            self.paths.logs / "engine.log",
            EngineSettings(settings.context_length, settings.threads, settings.gpu_layers),
        )

    @property
    def models(self) -> ModelService:
        return self._part(
            "models",
            lambda: ModelService(self.library, self.settings, self.remotes),
        )

    @property
    def library(self) -> ModelLibrary:
        return self._part("library", lambda: ModelLibrary(self.paths.models, self.paths.cache))

    @property
    def downloads(self) -> DownloadQueue:
        return self._part(
            "downloads",
            lambda: DownloadQueue(DownloadRepository(self.database), self.models, self.library),
        )

    @property
    def history(self) -> HistoryService:
        return self._part("history", lambda: HistoryService(self.database))

    @property
    def chat(self) -> ChatService:
        return self._part(
            "chat",
            lambda: ChatService(
                self.database, self.models, self.engines, self.settings, self.documents
            ),
        )

    @property
    def summarize(self) -> SummaryService:
        return self._part(
            "summarize",
            lambda: SummaryService(self.database, self.models, self.engines),
        )

    @property
    def translate(self) -> TranslationService:
        return self._part(
            "translate",
            lambda: TranslationService(self.database, self.models, self.engines),
        )

    @property
    def playground(self) -> PlaygroundService:
        return self._part(
            "playground",
            lambda: PlaygroundService(self.database, self.models, self.engines, self.settings),
        )

    @property
    def documents(self) -> DocumentService:
        """The libraries of the user's files, their indexing and search."""
        return self._part(
            "documents",
            lambda: DocumentService(DocumentStore(self.database), self.models, self.engines),
        )

    @property
    def serving(self) -> ServingService:
        """Lantern's own OpenAI-compatible API, without its HTTP (desktop/server/ has that)."""
        return self._part(
            "serving", lambda: ServingService(self.models, self.engines, self.settings)
        )

    @property
    def remotes(self) -> RemoteService:
        """The OpenAI-compatible servers the user added, and their models."""
        return self._part("remotes", lambda: RemoteService(self.paths.remotes_file))

    def close(self) -> None:
        with self._lock:
            engines, database = self._parts.get("engines"), self._parts.get("database")
            downloads = self._parts.get("downloads")
            remotes = self._parts.get("remotes")
            serving = self._parts.get("serving")
        if serving is not None:
            serving.cancel_all()
        if remotes is not None:
            remotes.close()
        if downloads is not None:
            downloads.close()
        if engines is not None:
            engines.close()
        if database is not None:
            database.close()
