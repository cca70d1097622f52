"""Where Lantern keeps things. The one place that knows.

By default the folders follow each OS's conventions (platformdirs). `LANTERN_HOME=/some/dir`
puts every folder under that one directory: tests and portable installs use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath

from platformdirs import PlatformDirs

from desktop.errors import PathOutsideFolder

APP_DIR_NAME = "Lantern"


@dataclass(frozen=True)
class AppPaths:
    data: Path
    config: Path
    cache: Path
    logs: Path
    models: Path

    @property
    def database(self) -> Path:
        return self.data / "lantern.sqlite3"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    @property
    def remotes_file(self) -> Path:
        """The remote engines the user added (their API keys are in the keyring)."""
        return self.config / "remotes.json"

    def ensure(self) -> AppPaths:
        for folder in (self.data, self.config, self.cache, self.logs, self.models):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def home_paths(root: Path) -> AppPaths:
    """Every folder under one directory: the layout of LANTERN_HOME (not created here)."""
    return AppPaths(
        data=root / "data",
        config=root / "config",
        cache=root / "cache",
        logs=root / "logs",
        models=root / "models",
    )


def app_paths() -> AppPaths:
    """The folders for this run, created if missing."""
    home = os.environ.get("LANTERN_HOME")
    if home:
        paths = home_paths(Path(home).expanduser().resolve())
    else:
        dirs = PlatformDirs(APP_DIR_NAME, appauthor=False)
        data = Path(dirs.user_data_dir)
        paths = AppPaths(
            data=data,
            config=Path(dirs.user_config_dir),
            cache=Path(dirs.user_cache_dir),
            logs=Path(dirs.user_log_dir),
            models=data / "models",
        )
    return paths.ensure()


def resources_dir() -> Path:
    """`resources/` (icons, themes, prompt templates), beside the `desktop` package: where a
    source checkout has it and where the installers put it."""
    return Path(__file__).resolve().parent.parent / "resources"


def catalog_file() -> Path:
    """`models.json`, the curated model catalog, beside `resources/`."""
    return resources_dir().parent / "models.json"


def path_inside(folder: Path, *relative: str | PurePath, follow_last_link: bool = True) -> Path:
    """`folder` joined with `relative`, for a write, move or delete: PathOutsideFolder unless it
    resolves (links followed, `..` and drives taken as this OS reads them) strictly inside
    `folder`. Every path built from outside data (a Hub listing, a stored download) goes
    through here before anything on disk changes, so a name that slipped past a check can
    still not reach the user's other files.

    `follow_last_link=False` is for a delete: unlinking a link removes the link, never what it
    points to, so a model the user linked into the folder from elsewhere can be removed."""
    target = folder.joinpath(*relative)
    base = folder.resolve()
    if follow_last_link or target.name in ("", ".", ".."):
        resolved = target.resolve()
    else:
        resolved = target.parent.resolve() / target.name
    if resolved == base or not resolved.is_relative_to(base):
        shown = "/".join(str(part) for part in relative)
        raise PathOutsideFolder(
            f"Lantern refused to change {shown!r}: it is not inside {folder}. Nothing was "
            "written, moved or deleted; if a Hub listing named it, choose another file."
        )
    return target
