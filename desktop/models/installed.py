"""The models installed in Lantern's models folder: list, import a local GGUF, remove."""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from desktop.errors import InvalidModelFile, ModelNotFound
from desktop.models.gguf_info import GgufInfo, ModelShape, read_gguf_info

log = logging.getLogger(__name__)
# Raised whenever GgufInfo or ModelShape changes, so older cached headers are read again.
HEADER_CACHE_FORMAT = 2


@dataclass(frozen=True)
class InstalledModel:
    id: str
    path: Path
    info: GgufInfo

    @property
    def size_bytes(self) -> int:
        return self.info.shape.file_bytes


class ModelLibrary:
    """Model files live in `models_dir`; their parsed headers are cached in `cache_dir`: a
    header holds the whole vocabulary, up to half a second to read for a large one."""

    def __init__(self, models_dir: Path, cache_dir: Path) -> None:
        self.models_dir = models_dir
        self._header_cache = cache_dir / "gguf-headers"

    def list(self) -> list[InstalledModel]:
        models = []
        for path in sorted(self.models_dir.rglob("*.gguf")):
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
        raise ModelNotFound(
            f"No installed model is called '{model_id}'. Installed: {installed}. "
            "See `lantern models list`."
        )

    def import_file(self, source: Path) -> InstalledModel:
        """Check the file is a complete GGUF model, then place it in the models folder.

        A hard link when the file is on the same disk (no second copy), else a copy written
        under a temporary name and renamed, so a half-copied file is never taken for a model.
        """
        source = source.expanduser()
        if not source.is_file():
            raise InvalidModelFile(f"{source} does not exist or is not a file.")
        info = read_gguf_info(source)
        target = self.models_dir / source.name
        if target.suffix != ".gguf":
            target = target.with_suffix(".gguf")
        if target.exists():
            if target.samefile(source) or target.stat().st_size == source.stat().st_size:
                log.info("%s is already installed", target.name)
                return InstalledModel(self._model_id(target), target, self._info(target))
            raise InvalidModelFile(
                f"A different model named {target.name} is already installed. "
                "Rename the file you are importing, or remove the installed one first."
            )
        self.models_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        try:
            try:
                os.link(source, partial)
            except OSError:
                shutil.copyfile(source, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        self._store_info(target, info)
        log.info("Imported %s as %s", source, target)
        return InstalledModel(self._model_id(target), target, info)

    def remove(self, model_id: str) -> InstalledModel:
        model = self.get(model_id)
        model.path.unlink()
        self._cache_file(model.path).unlink(missing_ok=True)
        log.info("Removed model %s", model.path)
        return model

    # ---- header cache ----

    def _model_id(self, path: Path) -> str:
        return path.relative_to(self.models_dir).with_suffix("").as_posix()

    def _cache_file(self, path: Path) -> Path:
        return self._header_cache / (self._model_id(path).replace("/", "__") + ".json")

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
