"""What a library's sources hold on disk now: every readable document under a folder (its
subfolders too), or the single file a source names. Paths come from the user's disk and are
untrusted: symbolic links are not followed (a link could lead out of the folder, or round in
a loop), hidden files and folders are left out, and a name that is not valid text (bytes a
database cannot store) is reported, not indexed."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from desktop.tasks.documents import is_library_document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoundFile:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class SourceContents:
    files: tuple[FoundFile, ...]
    refused: tuple[str, ...]  # what was left out and why, for the user
    missing: bool  # the source itself is gone (a removed folder or file)


def source_contents(path: str, *, is_folder: bool) -> SourceContents:
    files: list[FoundFile] = []
    refused: list[str] = []
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return SourceContents((), (), missing=True)
    if not is_folder:
        if stat.S_ISREG(info.st_mode):
            files.append(FoundFile(path, info.st_size, info.st_mtime_ns))
        return SourceContents(tuple(files), (), missing=not files)
    for entry in _walk(path, refused):
        if not _storable(entry.path):
            refused.append(f"{os.fsdecode(entry.name)!r}: its name is not valid text; rename it.")
            continue
        if is_library_document(entry.name):
            entry_info = entry.stat(follow_symlinks=False)
            files.append(FoundFile(entry.path, entry_info.st_size, entry_info.st_mtime_ns))
    return SourceContents(tuple(files), tuple(refused), missing=False)


def _walk(folder: str, refused: list[str]) -> Iterator[os.DirEntry[str]]:
    """Every regular file under `folder`, depth first; unreadable folders are reported."""
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError as exc:
            refused.append(f"{current}: cannot be read ({exc.strerror or exc}).")
            continue
        for entry in listed:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            elif entry.is_file(follow_symlinks=False):
                yield entry


def _storable(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
