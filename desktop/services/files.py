"""Writing a file the user asked for, so that a failed write never leaves half a file where
theirs was: the bytes go to a temporary file beside it, which then replaces it."""

from __future__ import annotations

import os
from pathlib import Path

from desktop.errors import LanternError


def write_file_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise LanternError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
