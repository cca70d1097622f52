"""Which model a feature runs on, when the remotes the user added are among the choices:
the default one's id without connecting to any server, and a clear word for a model whose
remote was removed."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import pytest

from desktop.errors import ModelNotInstalled, RemoteNotFound
from desktop.models.installed import ModelLibrary
from desktop.models.remotes import Remote, RemoteRegistry, ServedModel
from desktop.services.models import ModelService
from desktop.services.remotes import RemoteService
from desktop.settings import Settings


def no_connection(*_: object, **__: object) -> NoReturn:
    pytest.fail("a server was connected to")


@pytest.fixture
def models(tmp_path: Path) -> ModelService:
    """No installed model; one remote, `box`, serving `qwen` as its last test found it."""
    remotes_file = tmp_path / "remotes.json"
    RemoteRegistry(remotes_file).add(
        Remote("box", "http://gpu:8000", models=(ServedModel("qwen", 32768),))
    )
    (tmp_path / "models").mkdir()
    library = ModelLibrary(tmp_path / "models", tmp_path / "cache")
    return ModelService(library, Settings(), RemoteService(remotes_file, connect=no_connection))


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
