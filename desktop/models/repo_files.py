"""The GGUF files of a model repository as a user chooses among them: one entry per
quantization, split files (`-00001-of-00003.gguf`) grouped into the one model they make.

What a Hub listing (or a mirror's, or a hostile server's) says enters Lantern here: file
paths, repository ids and sha256 values are checked before any of them names a place on
disk, with the rules of every OS Lantern runs on (a backslash or `d:` means something on
Windows even when this computer is not one)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath
from typing import TypeVar

from desktop.errors import UnsafeHubListing

_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
# Quantization names as they appear in file names: Q4_K_M, IQ4_XS, Q8_0, UD-Q4_K_XL, BF16...
_QUANT = re.compile(
    r"(?<![A-Za-z0-9])(I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|F32|MXFP4|TQ\d_\d)(?![A-Za-z0-9])", re.I
)
# Files that are not a language model on their own (vision projectors, draft heads...).
_NOT_A_MODEL = re.compile(r"(^|/)(mmproj|imatrix)", re.IGNORECASE)
_GGUF_SUFFIX = re.compile(r"\.gguf$", re.IGNORECASE)

# What the Hub allows in a repository id: `owner/name`, ASCII letters, digits, `_.-`.
_REPO_ID = re.compile(r"[A-Za-z0-9_.-]{1,96}/[A-Za-z0-9_.-]{1,96}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Separators and drive marks on some OS, characters Windows cannot store, control characters.
_FORBIDDEN_CHARACTER = re.compile(r'[\\:*?"<>|\x00-\x1f\x7f]')
# Names Windows takes for a device whatever their extension (`nul.gguf` is the null device).
_DEVICE_NAME = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\..*)?", re.IGNORECASE)
MAX_NAME_BYTES = 200  # a file name's limit is 255 bytes on most disks; `.part` is added
MAX_PATH_CHARACTERS = 1000


@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int
    sha256: str | None  # the LFS object id the Hub advertises; None for non-LFS files


@dataclass(frozen=True)
class ModelFiles:
    """One downloadable model: a single GGUF, or the parts of a split one in order."""

    name: str  # the file name, or the common stem of the parts
    quant: str  # "Q4_K_M"..., "unknown" when the name does not say
    parts: tuple[RepoFile, ...]

    @property
    def size(self) -> int:
        return sum(p.size for p in self.parts)

    @property
    def first(self) -> RepoFile:
        return self.parts[0]

    @property
    def is_split(self) -> bool:
        return len(self.parts) > 1


def repo_file(path: object, size: object, sha256: object) -> RepoFile:
    """A file of a Hub listing, checked: UnsafeHubListing unless its path is a safe relative
    path, its size a byte count and its sha256 (when given) 64 hex digits."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise UnsafeHubListing(
            f"The Hub listing gives {path!r} a size of {size!r}, which is not a byte count. "
            "Choose another file; if you use a mirror (HF_ENDPOINT), check it."
        )
    return RepoFile(hub_file_path(path), size, hub_sha256(sha256))


def hub_file_path(path: object) -> str:
    """A file path from a listing, returned unchanged when it is safe to build a path from on
    any OS: relative, `/`-separated, no part that is empty, `.` or `..`, a drive, a device or
    a name Windows would change. UnsafeHubListing, saying why, otherwise."""
    if not isinstance(path, str) or not path:
        problem: str | None = "it is empty or not text"
    else:
        problem = _path_problem(path)
    if problem is None and isinstance(path, str):
        return path
    raise UnsafeHubListing(
        f"The Hub listing names a file {path!r} that Lantern will not save on this "
        f"computer: {problem}. Choose another file; if you use a mirror (HF_ENDPOINT), "
        "check it."
    )


def hub_repo_id(repo: object) -> str:
    """A repository id (`owner/name` of letters, digits, `_.-`), as typed by the user or given by
    a listing; UnsafeHubListing otherwise. Downloads are kept in a folder of this name."""
    if not isinstance(repo, str) or not _REPO_ID.fullmatch(repo):
        problem: str | None = (
            "it is not of the form owner/name, made of letters, digits, '_', '.' and '-'"
        )
    else:
        problem = next(filter(None, map(_name_problem, repo.split("/"))), None)
    if problem is None and isinstance(repo, str):
        return repo
    raise UnsafeHubListing(
        f"{repo!r} is not a Hub repository Lantern can use: {problem}. Check the name, "
        "e.g. `bartowski/Qwen2.5-7B-Instruct-GGUF`."
    )


def hub_sha256(sha256: object) -> str | None:
    """A listed sha256 as 64 lower-case hex digits (None when the listing gives none): the
    name of the folder its download gathers in. UnsafeHubListing for anything else."""
    if sha256 is None:
        return None
    if isinstance(sha256, str) and _SHA256.fullmatch(sha256.lower()):
        return sha256.lower()
    raise UnsafeHubListing(
        f"The Hub listing gives a sha256 of {sha256!r}, which is not 64 hex digits, so "
        "Lantern cannot check the download. Choose another file; if you use a mirror "
        "(HF_ENDPOINT), check it."
    )


def local_file_name(path: str) -> str:
    """A GGUF's name on disk: its `.gguf` in lower case, the form llama.cpp looks for when it
    opens the other parts of a split model (and Lantern's library when it lists models)."""
    return _GGUF_SUFFIX.sub(".gguf", path)


def _path_problem(path: str) -> str | None:
    if len(path) > MAX_PATH_CHARACTERS:
        return f"it is longer than {MAX_PATH_CHARACTERS} characters"
    if path.startswith("/"):
        return "it starts with '/' (a path from the top of the disk)"
    return next(filter(None, map(_name_problem, path.split("/"))), None)


def _name_problem(name: str) -> str | None:
    """Why one part of a path (a folder or file name) is unsafe; None when it is safe."""
    if name in ("", ".", ".."):
        return f"it holds the folder name {name!r}" if name else "it holds an empty folder name"
    if found := _FORBIDDEN_CHARACTER.search(name):
        return f"it holds the character {found[0]!r}"
    if name[-1] in ". ":
        return f"{name!r} ends with a dot or a space, which Windows drops"
    if _DEVICE_NAME.fullmatch(name):
        return f"{name!r} is the name of a device on Windows"
    if len(name.encode()) > MAX_NAME_BYTES:
        return f"the name {name[:40]!r}... is longer than {MAX_NAME_BYTES} bytes"
    return None


def split_name(file_name: str) -> tuple[str, int, int] | None:
    """(stem, part, count) of a split GGUF part's name (`x-00002-of-00003.gguf`), else None."""
    match = _SPLIT.match(PurePosixPath(file_name).name)
    return (match["stem"], int(match["part"]), int(match["count"])) if match else None


AnyPath = TypeVar("AnyPath", bound=PurePath)


def model_parts(path: AnyPath) -> list[AnyPath]:
    """Every file of the model `path` is (or is the first part of), in order: the parts of a
    split model named as llama.cpp names them, with `path`'s own `.gguf` or `.GGUF`."""
    split = split_name(path.name)
    if split is None:
        return [path]
    stem, _, count = split
    suffix = path.name[-len(".gguf") :]
    return [path.with_name(f"{stem}-{i:05d}-of-{count:05d}{suffix}") for i in range(1, count + 1)]


def quant_from_name(file_name: str) -> str:
    """The quantization a GGUF file's path states, upper-cased ('unknown' when none): the
    file name's, else its folder's (`Q8_0/model.gguf`)."""
    split = _SPLIT.match(file_name)
    stem = split["stem"] if split else _GGUF_SUFFIX.sub("", file_name)
    for part in reversed(PurePosixPath(stem).parts):
        found = _QUANT.findall(part)
        if found:
            return str(found[-1]).upper()
    return "unknown"


def group_model_files(files: list[RepoFile]) -> list[ModelFiles]:
    """GGUF model files grouped (split parts together, incomplete splits left out), by size."""
    singles: list[ModelFiles] = []
    splits: dict[tuple[str, int], dict[int, RepoFile]] = defaultdict(dict)
    for file in files:
        if not file.path.lower().endswith(".gguf") or _NOT_A_MODEL.search(file.path):
            continue
        match = _SPLIT.match(file.path)
        if match:
            splits[(match["stem"], int(match["count"]))][int(match["part"])] = file
        else:
            singles.append(ModelFiles(file.path, quant_from_name(file.path), (file,)))
    for (stem, count), parts in splits.items():
        if sorted(parts) == list(range(1, count + 1)):
            ordered = tuple(parts[i] for i in range(1, count + 1))
            singles.append(ModelFiles(stem + ".gguf", quant_from_name(stem), ordered))
    return sorted(singles, key=lambda m: (m.size, m.name))


def pick_quant(models: list[ModelFiles], quant: str) -> ModelFiles | None:
    """The file for a quantization ('Q4_K_M', case-insensitive); the smallest if several."""
    wanted = quant.upper()
    return next((m for m in models if m.quant == wanted), None)
