"""Which model a feature runs on, when the remotes the user added are among the choices:
the default one's id without connecting to any server, and a clear word for a model whose
remote was removed; a remotes file that cannot be read hides no installed model."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import pytest

from desktop.engine import remote_http
from desktop.errors import ModelNotInstalled, RemoteNotFound
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.models.remotes import Remote, RemoteRegistry, ServedModel
from desktop.paths import app_paths
from desktop.services.models import ModelService
from desktop.services.remotes import RemoteService
from desktop.settings import Settings


def no_connection(*_: object, **__: object) -> NoReturn:
    pytest.fail("a server was connected to")


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelService:
    """No installed model; one remote, `box`, serving `qwen` as its last test found it. No
    connection to a server may be made."""
    monkeypatch.setattr(remote_http, "ServerConnection", no_connection)
    remotes_file = tmp_path / "remotes.json"
    RemoteRegistry(remotes_file).add(
        Remote("box", "http://gpu:8000", models=(ServedModel("qwen", 32768),))
    )
    (tmp_path / "models").mkdir()
    library = ModelLibrary(tmp_path / "models", tmp_path / "cache")
    return ModelService(library, Settings(), RemoteService(remotes_file))


def test_the_default_models_id_is_known_without_connecting_to_its_server(
    models: ModelService,
) -> None:
    assert models.default_model_id() == "box:qwen"


def test_a_model_whose_remote_was_removed_is_named_as_such(models: ModelService) -> None:
    with pytest.raises(RemoteNotFound) as gone:
        models.choose("gpu:llama")
    assert "no remote named 'gpu'" in gone.value.message
    assert "removed" in gone.value.message


def test_an_unknown_model_that_names_no_remote_is_not_installed(models: ModelService) -> None:
    with pytest.raises(ModelNotInstalled):
        models.choose("llama")


def test_a_remotes_file_that_cannot_be_read_hides_no_installed_model(
    tmp_path: Path, installed_starter: InstalledModel
) -> None:
    remotes_file = tmp_path / "remotes.json"
    remotes_file.write_text("{ not json")
    paths = app_paths()
    library = ModelLibrary(paths.models, paths.cache)
    options = ModelService(library, Settings(), RemoteService(remotes_file)).options()
    assert [option.id for option in options] == [installed_starter.id]
