"""`lantern --self-test` from the source install: what an installed build runs to check itself.
tests/packaging runs the same on the frozen bundle and the .deb."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from desktop.models import starter
from desktop.models.installed import InstalledModel


def self_test(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "desktop", "--self-test", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **env},
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_the_self_test_answers_stores_and_opens_the_window(
    starter_model_path: Path, lantern_home: Path
) -> None:
    result = self_test(str(starter_model_path))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines[1:5]] == [
        ["ok", "model"],
        ["ok", "engine"],
        ["ok", "store"],
        ["ok", "window"],
    ]
    assert "tokens at" in lines[2] and "'Lantern' shown on the offscreen platform" in lines[4]
    # The run used a temporary home, removed afterwards: the user's own stays as it was.
    assert not (lantern_home / "data" / "lantern.sqlite3").exists()
    assert not list(lantern_home.glob("models/*"))
    temporary = Path(lines[3].split(" in ")[1].split(":")[0])
    assert temporary.name.startswith("lantern-self-test-") and not temporary.exists()
    # The engine's log stays where the user's logs are, for a failure's details.
    engine_log = lantern_home / "logs" / "self-test" / "engine.log"
    assert engine_log.is_file()


def test_without_a_model_it_takes_the_starter_from_its_cache(
    starter_model_path: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "starter-cache"
    cache.mkdir()
    (cache / starter.FILE_NAME).hardlink_to(starter_model_path)
    result = self_test(LANTERN_STARTER_CACHE=str(cache))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ok     model   starter model {starter.FILE_NAME}, checksum verified" in result.stdout


def test_a_damaged_model_fails_the_run_with_one_clear_line(half_model: Path) -> None:
    result = self_test(str(half_model))
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and str(half_model.name) in failed[0]
    assert result.stdout.splitlines()[-1] == "self-test FAILED"


def test_the_users_installed_models_are_not_touched(
    installed_starter: InstalledModel, starter_model_path: Path, lantern_home: Path
) -> None:
    before = sorted(p.name for p in (lantern_home / "models").rglob("*"))
    assert self_test(str(starter_model_path)).returncode == 0
    assert sorted(p.name for p in (lantern_home / "models").rglob("*")) == before
