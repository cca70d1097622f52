"""The models installed in Lantern's models folder: list, import a local GGUF, remove."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from desktop.errors import InvalidModelFile, ModelInTheWay, ModelNotInstalled
from desktop.models.gguf_info import GgufInfo, ModelShape, read_gguf_info
from desktop.models.repo_files import (
    hub_file_path,
    hub_repo_id,
    local_file_name,
    model_parts,
    split_name,
)
from desktop.paths import path_inside

log = logging.getLogger(__name__)
# Raised whenever GgufInfo, ModelShape or the header checks change, so that older cached
# headers are read (and checked) again: 3 since headers are checked against Lantern's limits.
HEADER_CACHE_FORMAT = 3


@dataclass(frozen=True)
class InstalledModel:
    id: str
    path: Path  # the file to load: the model's only file, or the first part of a split one
    info: GgufInfo

    @property
    def size_bytes(self) -> int:
        return self.info.shape.file_bytes

    @property
    def files(self) -> list[Path]:
        """Every file of the model on disk (the parts of a split model, in order)."""
        return model_parts(self.path)


def is_gguf(path: Path) -> bool:
    """A GGUF model file by its name, `.gguf` in any case."""
    return path.suffix.lower() == ".gguf" and path.is_file()


class ModelLibrary:
    """Model files live in `models_dir`; their parsed headers are cached in `cache_dir`: a
    header holds the whole vocabulary, up to half a second to read for a large one."""

    def __init__(self, models_dir: Path, cache_dir: Path) -> None:
        self.models_dir = models_dir
        self._header_cache = cache_dir / "gguf-headers"

    def list(self) -> list[InstalledModel]:
        models = []
        for path in sorted(filter(is_gguf, self.models_dir.rglob("*"))):
            split = split_name(path.name)
            if split is not None and split[1] != 1:
                continue  # a later part of a split model: its first part stands for it
            try:
                models.append(InstalledModel(self._model_id(path), path, self._info(path)))
            except InvalidModelFile as exc:
                log.warning("Skipping %s: %s", path, exc)
        return models

    def get(self, model_id: str) -> InstalledModel:
        for model in self.list():
            if model.id == model_id:
                return model
        installed = ", ".join(m.id for m in self.list()) or "none"
        raise ModelNotInstalled(
            f"No installed model is called '{model_id}'. Installed: {installed}."
        )

    def import_file(self, source: Path) -> InstalledModel:
        """Check the file is a complete GGUF model (every part, if split), then place it in
        the models folder."""
        source = source.expanduser()
        if not source.is_file():
            raise InvalidModelFile(f"{source} does not exist or is not a file.")
        split = split_name(source.name)
        if split is not None and split[1] != 1:
            first = model_parts(source)[0].name
            raise InvalidModelFile(
                f"{source.name} is one part of a split model: import its first part, {first}."
            )
        info = read_gguf_info(source)
        parts = model_parts(source)
        name = source.name if split is not None else source.with_suffix(".gguf").name
        target = path_inside(self.models_dir, local_file_name(name))
        if target.exists():
            if target.samefile(source) or target.stat().st_size == source.stat().st_size:
                log.info("%s is already installed", target.name)
                return InstalledModel(self._model_id(target), target, self._info(target))
            raise InvalidModelFile(
                f"A different model named {target.name} is already installed. "
                "Rename the file you are importing, or remove the installed one first."
            )
        self.models_dir.mkdir(parents=True, exist_ok=True)
        later = [path_inside(self.models_dir, local_file_name(p.name)) for p in parts[1:]]
        targets = [target, *later]
        for part, part_target in zip(parts, targets, strict=True):
            _place(part, part_target)
        self._store_info(target, info)
        log.info("Imported %s as %s", source, target)
        return InstalledModel(self._model_id(target), target, info)

    def download_target(self, repo: str, file_path: str) -> Path:
        """Where a downloaded file of `repo` lives: `owner/name/<its path in the repository>`,
        so two repositories' (or two folders') same-named files stay apart."""
        relative = local_file_name(hub_file_path(file_path))
        return path_inside(self.models_dir, hub_repo_id(repo), relative)

    def free_download_targets(self, repo: str, file_paths: Sequence[str]) -> Sequence[Path]:
        """Where a download's files will go; ModelInTheWay when a file is there already: a
        model the user has is never replaced by a download."""
        targets = [self.download_target(repo, path) for path in file_paths]
        taken = [target for target in targets if target.exists() or target.is_symlink()]
        if taken:
            raise ModelInTheWay(
                f"{taken[0]} is already in the models folder, and Lantern does not replace it "
                "with a download. Remove that model first, then resume the download."
            )
        return targets

    def install_download(
        self, parts: Sequence[Path], repo: str, file_paths: Sequence[str]
    ) -> InstalledModel:
        """Move a finished download's verified files (`parts`, in order) to where the files of
        `repo` at `file_paths` belong, each by an atomic rename, and check the model."""
        targets = self.free_download_targets(repo, file_paths)
        for part, target in zip(parts, targets, strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path_inside(self.models_dir, part), target)
        try:
            info = self._info(targets[0])
        except InvalidModelFile:
            for target in targets:
                target.unlink(missing_ok=True)
            raise
        log.info("Installed download %s", targets[0])
        return InstalledModel(self._model_id(targets[0]), targets[0], info)

    def remove(self, model_id: str) -> InstalledModel:
        model = self.get(model_id)
        for part in model.files:
            path_inside(self.models_dir, part, follow_last_link=False).unlink(missing_ok=True)
        self._cache_file(model.path).unlink(missing_ok=True)
        log.info("Removed model %s", model.path)
        return model

    # ---- header cache ----

    def _model_id(self, path: Path) -> str:
        """The path in the models folder without `.gguf` (without the part number, if split)."""
        relative = path.relative_to(self.models_dir)
        split = split_name(path.name)
        if split is not None:
            return relative.with_name(split[0]).as_posix()
        return relative.with_suffix("").as_posix()

    def _cache_file(self, path: Path) -> Path:
        return path_inside(self._header_cache, self._model_id(path).replace("/", "__") + ".json")

    def _info(self, path: Path) -> GgufInfo:
        stat = path.stat()
        cache = self._cache_file(path)
        try:
            cached = json.loads(cache.read_text(encoding="utf-8"))
            fresh = cached["size"] == stat.st_size and cached["mtime_ns"] == stat.st_mtime_ns
            if fresh and cached.get("format") == HEADER_CACHE_FORMAT:
                raw = cached["info"]
                return GgufInfo(**{**raw, "shape": ModelShape(**raw["shape"])})
        except (OSError, ValueError, KeyError, TypeError):
            pass
        info = read_gguf_info(path)
        self._store_info(path, info)
        return info

    def _store_info(self, path: Path, info: GgufInfo) -> None:
        stat = path.stat()
        cache = self._cache_file(path)
        cache.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "format": HEADER_CACHE_FORMAT,
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "info": asdict(info),
        }
        cache.write_text(json.dumps(record), encoding="utf-8")


def _place(source: Path, target: Path) -> None:
    """A hard link when the file is on the same disk (no second copy), else a copy written
    under a temporary name and renamed, so a half-copied file is never taken for a model."""
    partial = path_inside(target.parent, target.name + ".part")
    try:
        try:
            os.link(source, partial)
        except OSError:
            shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
