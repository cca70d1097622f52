"""The user's files: documents read for the writing tools without ever holding more of them
than Lantern would take, and files written so that a failed write never leaves half a file
where theirs was (the bytes go to a temporary file beside it, which then replaces it)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from desktop.errors import LanternError
from desktop.tasks.documents import (
    Document,
    UnreadableDocument,
    read_document,
    size_limit,
    too_large,
)


def read_file_at_most(path: Path, limit: int, refusal: Callable[[int], LanternError]) -> bytes:
    """The bytes of `path`, refused by its size before it is read (a 5 GB file is never
    loaded) with `refusal(size)`, and read at most one byte past `limit` (a file growing
    meanwhile, or one whose size the system does not know, is left to its reader's limit)."""
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > limit:
                raise refusal(size)
            return file.read(limit + 1)
    except OSError as exc:
        raise LanternError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc


def read_document_file(path: Path) -> Document:
    """The document at `path`, read no further than its kind's size limit."""
    name = path.name
    data = read_file_at_most(
        path, size_limit(name), lambda size: UnreadableDocument(too_large(name, size))
    )
    return read_document(data, name)


def read_document_stream(stream: BinaryIO, name: str) -> Document:
    """A document piped in (standard input): read up to one byte past its kind's limit."""
    return read_document(stream.read(size_limit(name) + 1), name)


def write_file_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise LanternError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
