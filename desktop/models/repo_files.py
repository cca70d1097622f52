"""The GGUF files of a model repository as a user chooses among them: one entry per
quantization, split files (`-00001-of-00003.gguf`) grouped into the one model they make."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath

_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
# Quantization names as they appear in file names: Q4_K_M, IQ4_XS, Q8_0, UD-Q4_K_XL, BF16...
_QUANT = re.compile(
    r"(?<![A-Za-z0-9])(I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|F32|MXFP4|TQ\d_\d)(?![A-Za-z0-9])", re.I
)
# Files that are not a language model on their own (vision projectors, draft heads...).
_NOT_A_MODEL = re.compile(r"(^|/)(mmproj|imatrix)", re.IGNORECASE)


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


def split_name(file_name: str) -> tuple[str, int, int] | None:
    """(stem, part, count) of a split GGUF part's name (`x-00002-of-00003.gguf`), else None."""
    match = _SPLIT.match(PurePosixPath(file_name).name)
    return (match["stem"], int(match["part"]), int(match["count"])) if match else None


def quant_from_name(file_name: str) -> str:
    """The quantization a GGUF file name states, upper-cased; 'unknown' when none."""
    stem = PurePosixPath(file_name).name
    split = _SPLIT.match(stem)
    stem = split["stem"] if split else stem.removesuffix(".gguf").removesuffix(".GGUF")
    found = _QUANT.findall(stem)
    return found[-1].upper() if found else "unknown"


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
