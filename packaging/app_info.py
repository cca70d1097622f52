"""Lantern's name, version, identifiers and icon, as every installer recipe reads them.

The one place: the version is pyproject.toml's, the name is the app's own (desktop.APP_NAME),
the icon is resources/icons/lantern.svg. `python packaging/app_info.py` prints KEY=value lines
for shell scripts; `python packaging/app_info.py version` prints one value.
"""

from __future__ import annotations

import platform
import re
import shlex
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from desktop import APP_NAME  # noqa: E402  (the app's own name, from the source tree)

_PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

NAME = APP_NAME
EXECUTABLE = "lantern"
VERSION = _PROJECT["version"]
# Windows' file version and macOS's CFBundleVersion take numbers only: 0.2.0rc1 -> 0.2.0.
NUMERIC_VERSION = re.match(r"\d+(\.\d+)*", VERSION).group(0)  # type: ignore[union-attr]
DESCRIPTION = _PROJECT["description"]
APP_ID = "org.lantern_app.Lantern"  # reverse-DNS id: .desktop file, macOS bundle, AppStream
PUBLISHER = "The Lantern developers"
ICON_SVG = ROOT / "resources" / "icons" / "lantern.svg"


def machine() -> str:
    """The CPU architecture as the installers name it: x86_64 or arm64."""
    arch = platform.machine().lower()
    return {"amd64": "x86_64", "aarch64": "arm64"}.get(arch, arch)


def values() -> dict[str, str]:
    return {
        "name": NAME,
        "executable": EXECUTABLE,
        "version": VERSION,
        "numeric_version": NUMERIC_VERSION,
        "description": DESCRIPTION,
        "app_id": APP_ID,
        "publisher": PUBLISHER,
        "machine": machine(),
        "icon_svg": str(ICON_SVG),
    }


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(values()[sys.argv[1]])
    else:
        for key, value in values().items():
            print(f"{key.upper()}={shlex.quote(value)}")
