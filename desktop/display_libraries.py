"""The system libraries Qt needs to open Lantern's window, checked before Qt tries.

PySide6 brings Qt itself, but on Linux Qt's platform plugins link to libraries the system
must provide: the X11 plugin (libqxcb.so, through Qt's libQt6XcbQpa) needs libxcb-cursor0,
libxcb-icccm4, libxcb-keysyms1 and more, which a fresh Debian does not have. Without one, Qt
prints its own error and aborts the process. Here `ldd` names what the plugin cannot find
without loading it (and without importing Qt), and the message gives the exact command that
installs it on this distribution.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from desktop.errors import LanternError

log = logging.getLogger(__name__)

Family = Literal["debian", "fedora", "arch"]

OS_RELEASE = Path("/etc/os-release")

# The platform plugins whose libraries are checked, by the name QT_QPA_PLATFORM uses. The
# others (offscreen, minimal, vnc...) need nothing from a desktop session.
PLUGIN_FILES: dict[str, tuple[str, ...]] = {
    "xcb": ("libqxcb.so",),
    "wayland": ("libqwayland.so", "libqwayland-generic.so"),
    "wayland-egl": ("libqwayland.so", "libqwayland-egl.so"),
}
PLUGIN_DESCRIPTIONS = {"xcb": "X11", "wayland": "Wayland", "wayland-egl": "Wayland"}

# The libraries Qt's X11 and Wayland plugins load from the system, by soname: the package
# that provides each on Debian and Ubuntu, on Fedora, and on Arch.
PACKAGES: dict[str, tuple[str, str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-render-util.so.0": (
        "libxcb-render-util0",
        "xcb-util-renderutil",
        "xcb-util-renderutil",
    ),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11"),
    "libXau.so.6": ("libxau6", "libXau", "libxau"),
    "libXdmcp.so.6": ("libxdmcp6", "libXdmcp", "libxdmcp"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client", "wayland"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor", "wayland"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl", "wayland"),
    "libGL.so.1": ("libgl1", "libglvnd-glx", "libglvnd"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx", "libglvnd"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl", "libglvnd"),
    "libGLdispatch.so.0": ("libglvnd0", "libglvnd", "libglvnd"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype", "freetype2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs", "dbus"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
}
FAMILY_COLUMN: dict[Family, int] = {"debian": 0, "fedora": 1, "arch": 2}
INSTALL_PREFIX: dict[Family, str] = {
    "debian": "sudo apt-get install",
    "fedora": "sudo dnf install",
    "arch": "sudo pacman -S --needed",
}
# How to find the package for a library this table does not know.
PROVIDES_QUERY: dict[Family, str] = {
    "debian": "apt-file search {soname}",
    "fedora": "dnf provides '*/{soname}'",
    "arch": "pacman -F {soname}",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)
_SONAME = re.compile(r"^[\w.+-]+$")


class MissingDisplayLibraries(LanternError, RuntimeError):
    """Qt's platform plugin cannot load: the system lacks libraries it links to."""


@dataclass(frozen=True)
class Distribution:
    name: str  # what /etc/os-release calls it, for the message
    family: Family | None  # None: a distribution whose package names are not known here


@dataclass(frozen=True)
class DisplayCheck:
    """What the check found. `plugin` is None when no platform plugin needed checking."""

    plugin: str | None
    plugin_path: Path | None
    missing: tuple[str, ...]
    distribution: Distribution
    reason: str  # one line: why nothing was missing, or what was checked

    @property
    def window_can_open(self) -> bool:
        return not self.missing

    @property
    def install_command(self) -> str | None:
        return install_command(self.missing, self.distribution)

    def message(self) -> str:
        if self.window_can_open:
            return self.reason
        return missing_libraries_message(self.plugin or "xcb", self.missing, self.distribution)


# ---- parsing what the system says ----


def missing_sonames(ldd_output: str) -> tuple[str, ...]:
    """The libraries `ldd` reports as "not found", each once, in the order it names them."""
    found = (m.group(1) for m in _NOT_FOUND.finditer(ldd_output))
    return tuple(dict.fromkeys(name for name in found if _SONAME.match(name)))


def parse_os_release(text: str) -> dict[str, str]:
    """The KEY=value lines of os-release(5); values may be quoted shell-style."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not key.isidentifier():
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        fields[key] = words[0] if words else ""
    return fields


def distribution_from(os_release_text: str) -> Distribution:
    fields = parse_os_release(os_release_text)
    name = fields.get("PRETTY_NAME") or fields.get("NAME") or "this Linux distribution"
    ids = [fields.get("ID", ""), *fields.get("ID_LIKE", "").split()]
    return Distribution(name=name, family=_family_of(ids))


def _family_of(ids: Sequence[str]) -> Family | None:
    # ID first: Ubuntu says ID_LIKE=debian, Rocky says ID_LIKE="rhel centos fedora".
    for distro_id in ids:
        if distro_id in ("debian", "ubuntu"):
            return "debian"
        if distro_id in ("fedora", "rhel", "centos"):
            return "fedora"
        if distro_id in ("arch", "archlinux"):
            return "arch"
    return None


def this_distribution(os_release: Path = OS_RELEASE) -> Distribution:
    try:
        return distribution_from(os_release.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return Distribution(name="this Linux distribution", family=None)


# ---- what to tell the user ----


def packages_for(sonames: Iterable[str], family: Family) -> tuple[list[str], list[str]]:
    """The distribution's packages for these libraries (each once), and the libraries no
    package is known for."""
    column = FAMILY_COLUMN[family]
    packages: dict[str, None] = {}
    unknown: list[str] = []
    for soname in sonames:
        if soname in PACKAGES:
            packages[PACKAGES[soname][column]] = None
        else:
            unknown.append(soname)
    return list(packages), unknown


def install_command(sonames: Sequence[str], distribution: Distribution) -> str | None:
    """`sudo apt-get install ...` (or dnf, pacman) for what is missing; None when the
    distribution or every library is unknown."""
    if distribution.family is None:
        return None
    packages, _ = packages_for(sonames, distribution.family)
    return f"{INSTALL_PREFIX[distribution.family]} {' '.join(packages)}" if packages else None


def missing_libraries_message(
    plugin: str, sonames: Sequence[str], distribution: Distribution
) -> str:
    kind = PLUGIN_DESCRIPTIONS.get(plugin, plugin)
    lines = [
        f"Lantern's window cannot open: Qt's {kind} platform plugin ({plugin}) needs system "
        f"libraries that are not installed: {', '.join(sonames)}."
    ]
    if distribution.family is None:
        debian = install_command(sonames, Distribution("", "debian"))
        lines.append(f"Install the packages of {distribution.name} that provide them" + (
            f"; on Debian or Ubuntu that is:\n  {debian}" if debian else "."
        ))  # fmt: skip
    else:
        command = install_command(sonames, distribution)
        if command:
            lines += [f"Install them on {distribution.name} with:", f"  {command}"]
        _, unknown = packages_for(sonames, distribution.family)
        for soname in unknown:
            query = PROVIDES_QUERY[distribution.family].format(soname=soname)
            lines.append(f"Find the package that provides {soname} with: {query}")
    lines.append("Then start Lantern again. The `lantern` commands work without a window.")
    return "\n".join(lines)


# ---- the check ----


def plugins_qt_tries(environ: Mapping[str, str], platform: str) -> list[str]:
    """The platform plugins Qt would try, in its order (QT_QPA_PLATFORM, else Wayland first
    in a Wayland session, else X11). Empty where Qt needs nothing from the system: macOS
    and Windows have their own, always-present window systems."""
    if not platform.startswith("linux"):
        return []
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        # "wayland;xcb" is a fallback list; "xcb:option=value" carries options.
        return [name.split(":")[0].strip() for name in chosen.split(";") if name.strip()]
    if environ.get("XDG_SESSION_TYPE") == "wayland" or environ.get("WAYLAND_DISPLAY"):
        return ["wayland", "xcb"]
    return ["xcb"]


def platform_plugin_folders(environ: Mapping[str, str]) -> list[Path]:
    """Where Qt looks for platform plugins: QT_QPA_PLATFORM_PLUGIN_PATH first, then PySide6's
    own folder (found without importing PySide6)."""
    chosen = environ.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    folders = [Path(chosen)] if chosen else []
    spec = importlib.util.find_spec("PySide6")
    locations = (spec.submodule_search_locations or []) if spec else []
    return folders + [Path(location) / "Qt" / "plugins" / "platforms" for location in locations]


def find_plugin(name: str, folders: Sequence[Path]) -> Path | None:
    for folder in folders:
        for file_name in PLUGIN_FILES[name]:
            if (folder / file_name).is_file():
                return folder / file_name
    return None


def run_ldd(library: Path) -> str | None:
    """`ldd`'s report on a library, or None when this system cannot say (no ldd)."""
    env = {**os.environ, "LC_ALL": "C"}  # "not found" in every language
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        # The frozen app carries Qt's libraries in its bundle folder, as its loader knows.
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (str(bundle), env.get("LD_LIBRARY_PATH", "")) if p
        )
    try:
        done = subprocess.run(
            ["ldd", str(library)], capture_output=True, text=True, timeout=60, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("Could not run ldd on %s: %s", library, exc)
        return None
    if done.returncode != 0 and "not found" not in done.stdout:
        log.info("ldd could not read %s: %s", library, done.stderr.strip())
        return None
    return done.stdout


def check_display_libraries(
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    os_release: Path = OS_RELEASE,
) -> DisplayCheck:
    """Can Qt's platform plugin load here? Checks each plugin Qt would try, in its order;
    the first one whose libraries are all present is the one Qt will use."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    tries = plugins_qt_tries(environ, platform)
    if not tries:
        return DisplayCheck(
            None, None, (), Distribution(platform, None), "Window: Qt needs nothing more here."
        )
    distribution = this_distribution(os_release)
    folders = platform_plugin_folders(environ)
    failures: list[DisplayCheck] = []
    for name in tries:
        if name not in PLUGIN_FILES:
            return DisplayCheck(
                None, None, (), distribution, f"Window: Qt's {name} platform needs nothing more."
            )
        plugin = find_plugin(name, folders)
        report = run_ldd(plugin) if plugin else None
        if report is None:
            # Lantern cannot tell here; Qt will say for itself.
            return DisplayCheck(
                name, plugin, (), distribution, f"Window: Qt's {name} plugin was not checked."
            )
        missing = missing_sonames(report)
        check = DisplayCheck(
            name,
            plugin,
            missing,
            distribution,
            f"Window: Qt's {PLUGIN_DESCRIPTIONS[name]} platform plugin ({name}) finds every "
            "library it needs.",
        )
        if not missing:
            return check
        log.info("Qt's %s plugin lacks %s", name, ", ".join(missing))
        failures.append(check)
    return failures[0]  # what the plugin Qt prefers lacks


def require_display_libraries() -> None:
    """Raise MissingDisplayLibraries, with the command that installs them, when Qt's
    platform plugin could not load here."""
    check = check_display_libraries()
    if not check.window_can_open:
        raise MissingDisplayLibraries(check.message())
