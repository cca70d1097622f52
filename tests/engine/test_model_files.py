"""Model files: headers read from their first bytes; whole GGUF models imported, others refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.errors import InvalidModelFile, ModelNotFound
from desktop.models.gguf_header import HeaderInvalid, read_gguf_header
from desktop.models.gguf_info import gguf_info_from_header
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
    with pytest.raises(InvalidModelFile, match="is damaged"):
        library.import_file(broken)
    assert library.list() == []


def test_a_file_cut_off_halfway_is_refused(
    library: ModelLibrary, installed_starter: InstalledModel, half_model: Path
) -> None:
    with pytest.raises(InvalidModelFile, match="incomplete") as raised:
        library.import_file(half_model)
    assert "download it again" in raised.value.message
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


def test_a_model_linked_in_from_elsewhere_is_removed_as_a_link(
    library: ModelLibrary, starter_model_path: Path
) -> None:
    """A user's own link into the models folder: Remove takes the link away, and the file it
    points to (outside the folder) stays."""
    link = library.models_dir / "linked.gguf"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(starter_model_path)
    [model] = library.list()
    library.remove(model.id)
    assert not link.is_symlink() and library.list() == []
    assert starter_model_path.is_file()


def test_the_header_is_read_from_the_first_bytes_alone(starter_model_path: Path) -> None:
    data = starter_model_path.read_bytes()
    reads: list[int] = []

    def read_prefix(size: int) -> bytes:
        reads.append(size)
        return data[:size]

    header = read_gguf_header(read_prefix, first_read=64 * 1024)
    assert len(reads) >= 2 and reads == sorted(reads), "it asked for more until the header ended"
    assert max(reads) < len(data) // 10, "and never for the weights"
    assert header.metadata["general.architecture"] == "llama"
    assert header.array_length("tokenizer.ggml.tokens") == 49152
    assert len(header.tensors) == 272  # 30 layers x 9 tensors, the embeddings, the output norm
    assert header.expected_file_bytes == len(data)
    shape = gguf_info_from_header(header, len(data), "starter").shape
    assert shape.layers == 30 and shape.head_count_kv == 3 and shape.tied_embeddings
    assert shape.weight_bytes == sum(t.n_bytes for t in header.tensors)
    with pytest.raises(HeaderInvalid, match="cut off"):
        read_gguf_header(lambda size: data[: min(size, 100_000)], first_read=64 * 1024)


def test_split_models_are_one_model_each_even_with_dots_in_their_names(
    library: ModelLibrary, starter_split: list[Path]
) -> None:
    # Two quantizations of one model, both split: names like Qwen2.5-7B-...-00001-of-00002.
    for quant in ("Q4_K_M", "Q8_0"):
        for number, part in enumerate(starter_split, start=1):
            library.models_dir.mkdir(parents=True, exist_ok=True)
            target = library.models_dir / f"Qwen2.5-7B-Instruct-{quant}-{number:05d}-of-00002.gguf"
            target.hardlink_to(part)
    models = library.list()
    assert [m.id for m in models] == ["Qwen2.5-7B-Instruct-Q4_K_M", "Qwen2.5-7B-Instruct-Q8_0"]
    assert models[0].size_bytes == sum(p.stat().st_size for p in starter_split)
    library.remove("Qwen2.5-7B-Instruct-Q8_0")
    assert sorted(p.name for p in library.models_dir.glob("*.gguf")) == [
        "Qwen2.5-7B-Instruct-Q4_K_M-00001-of-00002.gguf",
        "Qwen2.5-7B-Instruct-Q4_K_M-00002-of-00002.gguf",
    ]
