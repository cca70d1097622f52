"""Shared fixtures: every test gets its own LANTERN_HOME; the real starter model on demand;
a Hugging Face Hub on 127.0.0.1 serving it; OpenAI-compatible servers on 127.0.0.1 for the
remote engines (llama-cpp-python's own, and a stand-in that injects faults)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from gguf_split import split_gguf
from gguf_template import FORM_TEMPLATES, qwen2_5_template, real_template, with_chat_template
from hub_server import LocalHub
from package_index import PackageIndex

from desktop.engine.protocol import ToolCallForm
from desktop.models import embedder_install, starter
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.models.starter import fetch_starter_model

if TYPE_CHECKING:  # imported by their fixtures: uvicorn and Starlette load slowly
    from llama_cpp_server import LlamaCppServer
    from remote_stand_in import StandIn

    from desktop.engine.client import EngineClient

# The wheel download is shared with `make run` / `make test` (see the Makefile).
STARTER_CACHE = Path(
    os.environ.get("LANTERN_STARTER_CACHE") or Path.home() / ".cache" / "lantern-build" / "starter"
)


@pytest.fixture(autouse=True)
def lantern_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty Lantern home: no test reads or writes the real user profile."""
    home = tmp_path / "lantern-home"
    monkeypatch.setenv("LANTERN_HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)  # no test reaches the real Hub
    # Never the user's real keyring; tests that store a token choose their own backend.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    return home


@pytest.fixture(scope="session")
def starter_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real SmolLM2-135M-Instruct GGUF, checked against its sha256: a copy of the cached
    one, since installs hard-link it and a test that damaged it must not damage the cache."""
    copy = tmp_path_factory.mktemp("starter") / starter.FILE_NAME
    shutil.copyfile(fetch_starter_model(STARTER_CACHE), copy)
    return copy


@pytest.fixture(scope="session")
def embedder_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline embedder, all-MiniLM-L6-v2 converted to an f16 GGUF from its PyPI wheel
    (in the starter's cache, as `make test` prepares it): a copy, as for the starter."""
    copy = tmp_path_factory.mktemp("embedder") / embedder_install.FILE_NAME
    shutil.copyfile(embedder_install.fetch_embedder_model(STARTER_CACHE), copy)
    return copy


@pytest.fixture(scope="session")
def _imported_once(
    starter_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> InstalledModel:
    """One real import (header validated with the gguf reader, which takes seconds)."""
    home = tmp_path_factory.mktemp("imported-once")
    return ModelLibrary(home / "models", home / "cache").import_file(starter_model_path)


@pytest.fixture(scope="session")
def _embedder_imported_once(
    embedder_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> InstalledModel:
    home = tmp_path_factory.mktemp("embedder-imported-once")
    return ModelLibrary(home / "models", home / "cache").import_file(embedder_model)


@pytest.fixture(scope="session")
def tool_caller_model_path(
    starter_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The starter model with Qwen2.5-Instruct's real chat template, which takes tools and
    teaches Hermes' <tool_call> form (SmolLM2 speaks the same ChatML: <|im_start|>...)."""
    folder = tmp_path_factory.mktemp("tool-caller")
    target = folder / "SmolLM2-135M-Instruct-Qwen2.5-Template.Q4_1.gguf"
    return with_chat_template(starter_model_path, target, qwen2_5_template())


@pytest.fixture(scope="session")
def _tool_caller_imported_once(
    tool_caller_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> InstalledModel:
    return _import_in_a_home_of_its_own(tool_caller_model_path, tmp_path_factory)


@pytest.fixture(scope="session", params=sorted(FORM_TEMPLATES))
def call_form(request: pytest.FixtureRequest) -> ToolCallForm:
    """Each form of tool call but Hermes' in turn: a test that uses it runs once per form."""
    form: ToolCallForm = request.param
    return form


@pytest.fixture(scope="session")
def form_caller_model_path(
    call_form: ToolCallForm, starter_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The starter model with a real chat template that teaches `call_form`
    (gguf_template.FORM_TEMPLATES). SmolLM2 knows none of their turns, but a call insisted on
    is held to the form all the same."""
    model = FORM_TEMPLATES[call_form]
    folder = tmp_path_factory.mktemp(f"form-caller-{call_form}")
    target = folder / f"SmolLM2-135M-Instruct-{model}-Template.Q4_1.gguf"
    return with_chat_template(starter_model_path, target, real_template(model))


@pytest.fixture(scope="session")
def _form_caller_imported_once(
    form_caller_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> InstalledModel:
    return _import_in_a_home_of_its_own(form_caller_model_path, tmp_path_factory)


def _import_in_a_home_of_its_own(
    path: Path, tmp_path_factory: pytest.TempPathFactory
) -> InstalledModel:
    home = tmp_path_factory.mktemp(f"{path.stem}-imported-once")
    return ModelLibrary(home / "models", home / "cache").import_file(path)


@pytest.fixture
def installed_starter(lantern_home: Path, _imported_once: InstalledModel) -> InstalledModel:
    """The starter model installed in this test's home: the file hard-linked (or copied) and
    the header cache carried over, so each test skips re-reading the header."""
    return _installed_in_this_home(_imported_once)


@pytest.fixture
def installed_embedder(
    installed_starter: InstalledModel, _embedder_imported_once: InstalledModel
) -> InstalledModel:
    """The offline embedder installed in this test's home, beside the starter model (the
    documents' tests chat with one and search with the other)."""
    return _installed_in_this_home(_embedder_imported_once)


@pytest.fixture
def installed_tool_caller(
    installed_starter: InstalledModel, _tool_caller_imported_once: InstalledModel
) -> InstalledModel:
    """The tool-calling copy of the starter model installed in this test's home, beside it."""
    return _installed_in_this_home(_tool_caller_imported_once)


@pytest.fixture
def installed_form_caller(
    installed_starter: InstalledModel, _form_caller_imported_once: InstalledModel
) -> InstalledModel:
    """The form-calling copy of the starter model (one per form) installed in this test's
    home, beside it."""
    return _installed_in_this_home(_form_caller_imported_once)


def _installed_in_this_home(imported: InstalledModel) -> InstalledModel:
    from desktop.paths import app_paths

    paths = app_paths()
    source_home = imported.path.parent.parent
    target = paths.models / imported.path.name
    try:
        os.link(imported.path, target)
    except OSError:
        shutil.copy2(imported.path, target)
    shutil.copytree(source_home / "cache", paths.cache, dirs_exist_ok=True)
    return ModelLibrary(paths.models, paths.cache).get(imported.id)


@pytest.fixture
def lantern(installed_starter: InstalledModel) -> Iterator[object]:
    """A whole Lantern (store, models, engine) on this test's home with the starter model."""
    from desktop.services.app import Lantern

    app = Lantern()
    yield app
    app.close()


@pytest.fixture
def half_model(installed_starter: InstalledModel, tmp_path: Path) -> Path:
    """The starter model's first half: what a download cut off midway leaves."""
    cut = tmp_path / "cut.gguf"
    with installed_starter.path.open("rb") as src:
        cut.write_bytes(src.read(installed_starter.size_bytes // 2))
    return cut


STARTER_REPO = "lantern-test/SmolLM2-135M-Instruct-GGUF"
SPLIT_REPO = "lantern-test/Split-GGUF"
GATED_REPO = "lantern-gated/SmolLM2-135M-Instruct-GGUF"
CATALOG_STARTER_REPO = "bartowski/SmolLM2-135M-Instruct-GGUF"  # models.json's starter entry


@pytest.fixture(scope="session")
def starter_split(starter_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The starter model as a real two-part split GGUF (`SmolLM2-Q4_1-0000N-of-00002.gguf`)."""
    folder = tmp_path_factory.mktemp("split")
    return split_gguf(starter_model_path, folder / "SmolLM2-Q4_1.gguf", parts=2)


@pytest.fixture(scope="session")
def _test_hub(starter_model_path: Path, starter_split: list[Path]) -> Iterator[LocalHub]:
    hub = LocalHub().start()
    gguf = {"total": 134_515_008, "architecture": "llama", "context_length": 8192}
    hub.add_repo(
        STARTER_REPO,
        {"SmolLM2-135M-Instruct.Q4_1.gguf": starter_model_path},
        downloads=5000,
        likes=40,
        gguf=gguf,
    )
    hub.add_repo(
        SPLIT_REPO, {part.name: part for part in starter_split}, downloads=10, likes=90, gguf=gguf
    )
    # A catalog entry's repository (the starter's bytes under its quantizations' names), so
    # that a catalog id resolves and the recommended quantization is the one downloaded.
    hub.add_repo(
        CATALOG_STARTER_REPO,
        {
            "SmolLM2-135M-Instruct-Q8_0.gguf": starter_model_path,
            "SmolLM2-135M-Instruct-Q4_K_M.gguf": starter_model_path,
        },
        downloads=1,
        gguf=gguf,
    )
    hub.add_repo(
        GATED_REPO,
        {"SmolLM2-135M-Instruct.Q4_1.gguf": starter_model_path},
        gated=True,
        downloads=700,
        likes=1,
        gguf=gguf,
    )
    yield hub
    hub.stop()


@pytest.fixture
def test_hub(_test_hub: LocalHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalHub]:
    """The local Hub, with a clean request log and no faults; HF_ENDPOINT points at it. The
    repositories a test adds are gone after it: a later test's search lists the same ones
    whatever ran before it."""
    _test_hub.log.clear()
    _test_hub.faults.clear()
    monkeypatch.setenv("HF_ENDPOINT", _test_hub.endpoint)
    repos = dict(_test_hub.repos)
    yield _test_hub
    _test_hub.repos.clear()
    _test_hub.repos.update(repos)


@pytest.fixture
def short_answers(lantern_home: Path) -> None:
    """Answers of at most 24 tokens: enough for a turn to happen, and quick on a loaded
    machine (the model's default of 1,024 can take over a minute there)."""
    from desktop.paths import app_paths
    from desktop.settings import Settings, save_settings

    save_settings(app_paths().settings_file, Settings(max_tokens=24))


@pytest.fixture
def starter_index(tmp_path: Path, starter_model_path: Path) -> Iterator[PackageIndex]:
    """A PyPI-style index on 127.0.0.1 with the starter wheel (the real GGUF inside)."""
    index = PackageIndex(tmp_path / "package-index", starter_model_path).start()
    yield index
    index.stop()


@pytest.fixture(scope="session")
def llama_cpp_server(
    starter_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaCppServer]:
    """llama-cpp-python's own OpenAI-compatible server on the starter model, with an API key,
    ready (its /v1/models answers) for the whole session."""
    from llama_cpp_server import LlamaCppServer

    log = tmp_path_factory.mktemp("llama-cpp-server") / "server.log"
    # One thread: llama.cpp's spinning threads collapse on a loaded machine (the engine's
    # own CPU share avoids that; a server of another project does not), and the tests that
    # chat with it must not take minutes there.
    server = LlamaCppServer(starter_model_path, log, threads=1).start()
    yield server
    server.stop()


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    """An OpenAI-compatible stand-in with no faults queued (tests/remote_stand_in.py)."""
    from remote_stand_in import StandIn

    server = StandIn().start()
    yield server
    server.stop()


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real keyring backend (keyrings.alt's) that keeps its secrets in a file of this
    test's, standing in for the system keyring here and in the commands a test starts. The
    file's path."""
    import keyring.core
    from keyrings.alt.file import PlaintextKeyring

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "keyring"))
    backend = PlaintextKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    return Path(backend.file_path)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineClient]:
    """An engine process of this test's own, closed after it."""
    from desktop.engine.client import EngineClient

    client = EngineClient(tmp_path / "engine.log")
    yield client
    client.close()
