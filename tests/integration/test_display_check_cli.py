"""`lantern`, `lantern doctor` and `make run` say which system libraries Qt's platform plugin
lacks, and the command that installs them, instead of letting Qt abort: against this
machine's real libqxcb.so, and against a real plugin built here that needs a library no
system has."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import lantern

from desktop.display_libraries import (
    check_display_libraries,
    missing_libraries_message,
    this_distribution,
)

ABSENT = "libxcb-lantern-absent.so.0"  # no distribution ships this


def _shared_library(folder: Path, name: str, *, needs: str | None = None) -> Path:
    """A real ELF shared library; with `needs`, it links to a library of that soname that
    is then deleted, as a plugin built against a library this system lacks."""
    compiler = shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler (Lantern's setup needs one to build llama.cpp)")
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "empty.c"
    source.write_text("int lantern_test_symbol;\n", encoding="utf-8")
    link: list[str] = []
    if needs:
        stub = folder / needs
        subprocess.run(
            [compiler, "-shared", "-fPIC", f"-Wl,-soname,{needs}", "-o", stub, source],
            check=True,
        )
        link = [f"-L{folder}", "-Wl,--no-as-needed", f"-l:{needs}"]
    library = folder / name
    subprocess.run([compiler, "-shared", "-fPIC", "-o", library, source, *link], check=True)
    if needs:
        (folder / needs).unlink()
    source.unlink()
    return library


@pytest.fixture
def x11_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """Qt would choose its X11 plugin, with no X server to reach: if a check let Qt go on,
    Qt would abort rather than open a window on the developer's screen."""
    for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "DISPLAY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def plugin_lacking_a_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, x11_session: None
) -> Path:
    plugin = _shared_library(tmp_path / "platforms", "libqxcb.so", needs=ABSENT)
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", str(plugin.parent))
    return plugin


def test_the_app_says_what_to_install_instead_of_qt_aborting(
    plugin_lacking_a_library: Path,
) -> None:
    result = lantern(check=False)
    expected = missing_libraries_message("xcb", (ABSENT,), this_distribution())
    assert (result.returncode, result.stderr) == (1, f"error: {expected}\n")
    assert "qt.qpa.plugin" not in result.stderr, "Qt never got as far as its own error"


def test_doctor_display_fails_with_the_message_and_json_says_the_same(
    plugin_lacking_a_library: Path,
) -> None:
    result = lantern("doctor", "--display", check=False)
    assert result.returncode == 1
    assert f"needs system libraries that are not installed: {ABSENT}." in result.stderr
    report = json.loads(lantern("doctor", "--display", "--json", check=False).stdout)
    assert report["window_can_open"] is False
    assert report["missing_libraries"] == [ABSENT]
    assert report["plugin_path"] == str(plugin_lacking_a_library)


def test_doctor_display_passes_when_the_plugin_finds_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, x11_session: None
) -> None:
    plugin = _shared_library(tmp_path / "platforms", "libqxcb.so")
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", str(plugin.parent))
    result = lantern("doctor", "--display")
    assert result.stdout == (
        "Window: Qt's X11 platform plugin (xcb) finds every library it needs.\n"
    )


def test_offscreen_needs_no_check(plugin_lacking_a_library: Path, monkeypatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert lantern("doctor", "--display").returncode == 0


def _loads(library: Path) -> subprocess.CompletedProcess[str]:
    """The dynamic loader's own verdict: load the library in a fresh interpreter."""
    script = "import ctypes, sys; ctypes.CDLL(sys.argv[1])"
    return subprocess.run(
        [sys.executable, "-c", script, str(library)], capture_output=True, text=True
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's X11 plugin is Linux's")
def test_this_machines_real_x11_plugin_is_judged_as_the_loader_judges_it(
    x11_session: None,
) -> None:
    check = check_display_libraries(environ={})
    assert check.plugin == "xcb" and check.plugin_path is not None
    assert check.plugin_path.name == "libqxcb.so"
    assert check.plugin_path.is_relative_to(Path(__import__("PySide6").__file__).parent)
    loaded = _loads(check.plugin_path)
    if check.window_can_open:
        assert loaded.returncode == 0, loaded.stderr
        assert lantern("doctor", "--display").stdout.startswith("Window: Qt's X11")
        return
    # The loader stops at the first library it cannot find: one of those named.
    assert loaded.returncode != 0
    assert any(
        f"{soname}: cannot open shared object file" in loaded.stderr for soname in check.missing
    )
    result = lantern("doctor", "--display", check=False)
    assert result.returncode == 1
    if check.install_command:
        assert f"\n  {check.install_command}\n" in result.stderr
    if check.distribution.family == "debian" and shutil.which("dpkg-query"):
        _assert_not_installed(check.install_command)


def _assert_not_installed(command: str | None) -> None:
    """Each package the command names is indeed not installed here (dpkg's own word)."""
    assert command and command.startswith("sudo apt-get install ")
    for package in command.removeprefix("sudo apt-get install ").split():
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status}", package],
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C"},
        )
        assert status.stdout != "installed", f"{package} is installed, yet named"
