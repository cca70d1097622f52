"""The window's system libraries: `ldd` reports and os-release files as captured on real
machines, turned into the exact install command for each distribution."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.display_libraries import (
    PACKAGES,
    check_display_libraries,
    distribution_from,
    install_command,
    missing_libraries_message,
    missing_sonames,
    parse_os_release,
    plugins_qt_tries,
)

# `ldd .venv/.../PySide6/Qt/plugins/platforms/libqxcb.so` on a fresh Debian 12 (bookworm)
# with PySide6 6.11 (trimmed): three libraries of libQt6XcbQpa missing, two of them named
# twice, since ldd lists each library's dependencies as it meets them.
LDD_FRESH_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007fb2be9f4000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007fb2be926000)
\tlibGL.so.1 => /lib/x86_64-linux-gnu/libGL.so.1 (0x00007fb2bdd79000)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007fb2be910000)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007fb2bdd6a000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007fb2bd565000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fb2bcc1e000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007fb2be9f6000)
"""
LDD_ALL_FOUND = """\
\tlinux-vdso.so.1 (0x00007ffc6d3e5000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f0a1c3d2000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0a1bc1e000)
"""
FRESH_DEBIAN_MISSING = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1")

DEBIAN_12 = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"""
UBUNTU_24_04 = """\
PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
"""
FEDORA_41 = """\
NAME="Fedora Linux"
VERSION="41 (Workstation Edition)"
ID=fedora
VERSION_ID=41
PLATFORM_ID="platform:f41"
PRETTY_NAME="Fedora Linux 41 (Workstation Edition)"
"""
ARCH = """\
NAME="Arch Linux"
PRETTY_NAME="Arch Linux"
ID=arch
BUILD_ID=rolling
ANSI_COLOR="38;2;23;147;209"
"""
MINT_22 = 'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\nPRETTY_NAME="Linux Mint 22"\n'
ROCKY_9 = 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
MANJARO = 'NAME="Manjaro Linux"\nID=manjaro\nID_LIKE=arch\nPRETTY_NAME="Manjaro Linux"\n'
OPENSUSE = 'NAME="openSUSE Tumbleweed"\nID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n'


def test_ldd_report_gives_each_missing_library_once_in_order() -> None:
    assert missing_sonames(LDD_FRESH_DEBIAN) == FRESH_DEBIAN_MISSING
    assert missing_sonames(LDD_ALL_FOUND) == ()
    assert missing_sonames("") == ()


@pytest.mark.parametrize(
    ("os_release", "command"),
    [
        (DEBIAN_12, "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"),
        (UBUNTU_24_04, "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"),
        (MINT_22, "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"),
        (FEDORA_41, "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms"),
        (ROCKY_9, "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms"),
        (ARCH, "sudo pacman -S --needed xcb-util-cursor xcb-util-wm xcb-util-keysyms"),
        (MANJARO, "sudo pacman -S --needed xcb-util-cursor xcb-util-wm xcb-util-keysyms"),
        (OPENSUSE, None),
    ],
)
def test_each_distribution_gets_its_own_install_command(
    os_release: str, command: str | None
) -> None:
    missing = missing_sonames(LDD_FRESH_DEBIAN)
    assert install_command(missing, distribution_from(os_release)) == command


def test_a_package_holding_several_missing_libraries_is_named_once() -> None:
    missing = ["libxcb-randr.so.0", "libxcb-shape.so.0", "libxcb-xkb.so.1"]
    assert install_command(missing, distribution_from(FEDORA_41)) == "sudo dnf install libxcb"
    assert install_command(missing, distribution_from(DEBIAN_12)) == (
        "sudo apt-get install libxcb-randr0 libxcb-shape0 libxcb-xkb1"
    )


def test_the_message_names_the_libraries_the_distribution_and_the_command() -> None:
    message = missing_libraries_message("xcb", FRESH_DEBIAN_MISSING, distribution_from(DEBIAN_12))
    assert message == (
        "Lantern's window cannot open: Qt's X11 platform plugin (xcb) needs system libraries "
        "that are not installed: libxcb-cursor.so.0, libxcb-icccm.so.4, libxcb-keysyms.so.1.\n"
        "Install them on Debian GNU/Linux 12 (bookworm) with:\n"
        "  sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1\n"
        "Then start Lantern again. The `lantern` commands work without a window."
    )


def test_a_library_no_package_is_known_for_says_how_to_find_it() -> None:
    missing = ["libxcb-cursor.so.0", "libxcb-future.so.9"]
    debian = missing_libraries_message("xcb", missing, distribution_from(DEBIAN_12))
    assert "  sudo apt-get install libxcb-cursor0\n" in debian
    assert "Find the package that provides libxcb-future.so.9 with: apt-file search" in debian
    arch = missing_libraries_message("xcb", missing, distribution_from(ARCH))
    assert "pacman -F libxcb-future.so.9" in arch


def test_an_unknown_distribution_is_told_the_libraries_and_the_debian_names() -> None:
    message = missing_libraries_message("xcb", FRESH_DEBIAN_MISSING, distribution_from(OPENSUSE))
    assert "Install the packages of openSUSE Tumbleweed that provide them" in message
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in message


def test_an_unknown_distribution_missing_unknown_libraries_gets_no_empty_command() -> None:
    missing = ["libxcb-future.so.9"]
    message = missing_libraries_message("xcb", missing, distribution_from(OPENSUSE))
    assert "Install the packages of openSUSE Tumbleweed that provide them.\n" in message
    assert "None" not in message and "Debian" not in message


def test_every_soname_has_a_package_on_each_distribution() -> None:
    for soname, names in PACKAGES.items():
        assert soname.startswith("lib") and ".so." in soname
        assert all(names), soname


@pytest.mark.parametrize(
    ("environ", "platform", "plugins"),
    [
        ({}, "linux", ["xcb"]),
        ({"DISPLAY": ":0"}, "linux", ["xcb"]),
        ({"XDG_SESSION_TYPE": "wayland"}, "linux", ["wayland", "xcb"]),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", ["wayland", "xcb"]),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", ["offscreen"]),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux", ["wayland", "xcb"]),
        ({"QT_QPA_PLATFORM": "xcb:dpi=96"}, "linux", ["xcb"]),
        ({}, "darwin", []),
        ({}, "win32", []),
    ],
)
def test_the_plugins_checked_are_the_ones_qt_would_try(
    environ: dict[str, str], platform: str, plugins: list[str]
) -> None:
    assert plugins_qt_tries(environ, platform) == plugins


@pytest.mark.parametrize(
    ("environ", "platform"),
    [
        ({}, "darwin"),
        ({}, "win32"),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),
        ({"QT_QPA_PLATFORM": ";"}, "linux"),
    ],
)
def test_nothing_is_needed_on_macos_windows_or_offscreen(
    environ: dict[str, str], platform: str, tmp_path: Path
) -> None:
    check = check_display_libraries(environ, platform, os_release=tmp_path / "none")
    assert check.window_can_open and check.missing == ()
    assert check.install_command is None


@settings(max_examples=200, deadline=1000)
@given(st.text())
def test_any_text_parses_without_error(text: str) -> None:
    fields = parse_os_release(text)
    assert all(key.isidentifier() for key in fields)
    distribution_from(text)
    for soname in missing_sonames(text):
        assert f"{soname} => not found" in text


def test_the_readme_commands_name_only_packages_the_check_knows() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    commands = {"debian": "sudo apt-get install", "fedora": "sudo dnf install"}
    commands["arch"] = "sudo pacman -S --needed"
    known = {family: {row[i] for row in PACKAGES.values()} for i, family in enumerate(commands)}
    for family, prefix in commands.items():
        start = readme.index(prefix) + len(prefix)
        command = readme[start : readme.index("#", start)].replace("\\\n", " ")
        assert set(command.split()) <= known[family], family
