"""The prompt templates in resources/prompts/, read once and filled in."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from desktop.errors import LanternError
from desktop.paths import resources_dir


def prompts_dir() -> Path:
    return resources_dir() / "prompts"


@cache
def template(name: str) -> str:
    """The template `name` ("summarize/part"), without its trailing newline."""
    path = prompts_dir() / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise LanternError(
            f"The prompt template {path} cannot be read ({exc.strerror or exc}). "
            "Restore the file or reinstall Lantern."
        ) from exc


def fill(name: str, **values: Any) -> str:
    """The template with its `{names}` filled in; the values themselves are not parsed."""
    try:
        return template(name).format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise LanternError(
            f"The prompt template {prompts_dir() / name}.md has a field Lantern does not fill "
            f"({exc}). Fields are written in braces, literal braces doubled: {{{{ }}}}."
        ) from exc
