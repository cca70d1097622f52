"""Typed user settings, loaded and saved in one place; the defaults live here."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    default_model_id: str | None = None
    context_length: int = 4096
    # None: the physical cores other programs leave free, per generation (engine/cpu_share.py).
    threads: int | None = None
    # None: chosen from free GPU memory at load; 0 keeps everything on the CPU; -1 offloads all.
    gpu_layers: int | None = None
    max_tokens: int = 1024
    temperature: float = 0.7
    top_p: float = 0.95
    # The window's look: "system" follows the desktop's light or dark mode.
    theme: str = "system"
    # Text size in points; None: the desktop's own.
    font_size: int | None = None
    # The installed model that embeds documents; "": the offline all-MiniLM-L6-v2 if it is
    # installed, else any installed embedding model (models/embedders.py).
    embedding_model: str = ""
    # The local OpenAI-compatible API (`lantern serve`, the window's server panel): this
    # computer only unless another address is chosen; the API key is always required.
    server_host: str = "127.0.0.1"
    server_port: int = 8537  # none of the peers' (Ollama 11434, LM Studio 1234, Jan 1337...)
    # Web pages (origins such as "http://localhost:3000") allowed to call it from a browser:
    # none unless listed, never every one.
    server_cors_origins: tuple[str, ...] = ()
    # Requests' and answers' text kept in the request log (the figures always are).
    server_log_contents: bool = False
    server_max_tokens: int = 4096  # the longest answer a request may ask for
    server_start_with_app: bool = False
    server_max_body_bytes: int = 4 * 2**20  # a request's body; larger ones get 413


THEMES = ("system", "light", "dark")
FONT_SIZES = range(8, 29)  # points


# The JSON types each setting accepts; None is accepted where the default is None.
_TYPES: dict[str, tuple[type, ...]] = {
    "default_model_id": (str,),
    "context_length": (int,),
    "threads": (int,),
    "gpu_layers": (int,),
    "max_tokens": (int,),
    "temperature": (int, float),
    "top_p": (int, float),
    "theme": (str,),
    "font_size": (int,),
    "embedding_model": (str,),
    "server_host": (str,),
    "server_port": (int,),
    "server_cors_origins": (list, tuple),  # of str: a JSON list in the file
    "server_log_contents": (bool,),
    "server_max_tokens": (int,),
    "server_start_with_app": (bool,),
    "server_max_body_bytes": (int,),
}
# Settings that take only some values of their type.
_CHOICES: dict[str, Any] = {
    "theme": THEMES,
    "font_size": FONT_SIZES,
    "server_port": range(1, 65536),
    "server_max_tokens": range(1, 131_073),  # tasks/sampling_fields.py's longest answer
    "server_max_body_bytes": range(1024, 2**31),
}


def _checked(name: str, value: Any) -> Any:
    """The value if it has the setting's type, else raise ValueError."""
    if value is None and getattr(Settings(), name) is None:
        return None
    kinds = _TYPES[name]
    # A bool is an int to Python: only a setting that is a bool takes one.
    if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
        raise ValueError(f"{name} has the wrong type: {value!r}")
    if name in _CHOICES and value not in _CHOICES[name]:
        raise ValueError(f"{name} cannot be {value!r}")
    if isinstance(value, list | tuple):
        if not all(isinstance(item, str) for item in value):
            raise ValueError(f"{name} must list texts only: {value!r}")
        return tuple(value)
    return float(value) if float in kinds else value  # type: ignore[arg-type]


def with_changes(settings: Settings, **changes: Any) -> Settings:
    """`settings` with `changes`, each checked as a value read from the file is (ValueError)."""
    return replace(settings, **{name: _checked(name, value) for name, value in changes.items()})


def load_settings(path: Path) -> Settings:
    """Read the settings file; a missing file gives the defaults.

    A file that cannot be read is set aside as `settings.json.bad` (never silently lost)
    and the defaults are used.
    """
    if not path.exists():
        return Settings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("the file does not hold a JSON object")
    except (OSError, ValueError) as exc:
        backup = path.with_suffix(path.suffix + ".bad")
        log.warning("Settings file %s is unreadable (%s); kept as %s", path, exc, backup)
        os.replace(path, backup)
        return Settings()
    defaults = Settings()
    values: dict[str, Any] = {}
    for field in fields(Settings):
        if field.name not in raw:
            continue
        try:
            values[field.name] = _checked(field.name, raw[field.name])
        except ValueError as exc:
            log.warning("Ignoring setting %s", exc)
    return replace(defaults, **values)


def save_settings(path: Path, settings: Settings) -> None:
    """Write atomically, so a crash mid-write never leaves a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    os.replace(tmp, path)
