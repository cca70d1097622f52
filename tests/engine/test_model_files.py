"""Importing model files: the gguf reader validates the header; anything else is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.errors import InvalidModelFile, ModelNotFound
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.paths import app_paths


@pytest.fixture
def library() -> ModelLibrary:
    paths = app_paths()
    return ModelLibrary(paths.models, paths.cache)


def test_import_validates_and_installs_the_starter_model(
    library: ModelLibrary, starter_model_path: Path
) -> None:
    model = library.import_file(starter_model_path)
    assert model.id == "SmolLM2-135M-Instruct.Q4_1"
    assert model.info.architecture == "llama"
    assert model.info.quantization == "Q4_1"
    assert model.info.context_length == 8192
    assert model.info.has_chat_template
    assert model.path.parent == library.models_dir and model.path.stat().st_size == model.size_bytes
    assert [m.id for m in library.list()] == [model.id]
    assert starter_model_path.exists(), "importing never moves the user's own file"


def test_a_file_that_is_not_gguf_is_refused(library: ModelLibrary, tmp_path: Path) -> None:
    fake = tmp_path / "notes.gguf"
    fake.write_text("these are my notes, not a model")
    with pytest.raises(InvalidModelFile, match="not a GGUF model file"):
        library.import_file(fake)
    assert library.list() == []


def test_a_broken_header_is_refused(
    library: ModelLibrary, starter_model_path: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.gguf"
    data = bytearray(starter_model_path.read_bytes()[:4096])
    data[8:24] = b"\xff" * 16  # tensor and key counts become absurd
    broken.write_bytes(bytes(data))
    with pytest.raises(InvalidModelFile, match="damaged or incomplete"):
        library.import_file(broken)
    assert library.list() == []


def test_a_file_cut_off_halfway_is_refused(
    library: ModelLibrary, installed_starter: InstalledModel, half_model: Path
) -> None:
    with pytest.raises(InvalidModelFile, match="incomplete") as raised:
        library.import_file(half_model)
    assert "download the file again" in raised.value.message
    assert [m.id for m in library.list()] == [installed_starter.id], (
        "the installed model is untouched"
    )


def test_remove_deletes_the_file_and_unknown_ids_say_what_is_installed(
    library: ModelLibrary, installed_starter: InstalledModel
) -> None:
    with pytest.raises(ModelNotFound, match=installed_starter.id):
        library.get("no-such-model")
    library.remove(installed_starter.id)
    assert not installed_starter.path.exists()
    assert library.list() == []
