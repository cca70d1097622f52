"""`lantern docs` end to end (issue 19): add, list, search, rm through subprocesses, on the
real converted embedder; a kill -9 mid-index resumed by the next run without a passage
twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
from test_cli import lantern

from desktop.models.installed import InstalledModel


def lantern_json(*args: str) -> Any:
    return json.loads(lantern(*args, "--json").stdout)


def notes(folder: Path, count: int) -> Path:
    folder.mkdir()
    for n in range(count):
        (folder / f"note{n:03}.md").write_text(
            f"# Note {n}\n\nParcel {n} waits on shelf {n % 7} until its owner calls.\n\n"
            + "The porter keeps a ledger of every parcel and the day it came. " * 30
        )
    return folder


def test_add_list_search_and_remove(installed_embedder: InstalledModel, tmp_path: Path) -> None:
    folder = notes(tmp_path / "notes", 3)
    (folder / "violin.txt").write_text("The violin case is under the stairs by the cellar door.\n")
    added = lantern_json("docs", "add", str(folder), "--library", "Post room")
    assert (added["status"], added["files_indexed"], added["failed"]) == ("complete", 4, [])

    [library] = lantern_json("docs", "list")
    assert library["name"] == "Post room"
    assert (library["files"], library["indexed"], library["queued"]) == (4, 4, 0)
    assert library["sources"] == [str(folder.resolve())]

    found = lantern_json("docs", "search", "where is the musical instrument", "--limit", "2")
    assert found[0]["file"] == str((folder / "violin.txt").resolve())
    assert "under the stairs" in found[0]["text"]
    assert isinstance(found[0]["score"], float)
    assert lantern_json("docs", "search", "parcel 2", "--library", "Post room")[0]["heading"]

    text = lantern("docs", "search", "violin").stdout
    assert "violin.txt" in text and "score" in text

    lantern("docs", "rm", str(folder), "--library", "Post room")
    [emptied] = lantern_json("docs", "list")
    assert (emptied["files"], emptied["passages"]) == (0, 0)
    assert lantern_json("docs", "search", "violin") == []


def test_bad_input_gets_a_clear_message(installed_embedder: InstalledModel, tmp_path: Path) -> None:
    missing = lantern("docs", "add", str(tmp_path / "nowhere"), check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    unknown = lantern("docs", "search", "x", "--library", "Nope", check=False)
    assert unknown.returncode == 1 and "Nope" in unknown.stderr


def test_without_an_embedder_add_says_how_to_install_one(tmp_path: Path) -> None:
    result = lantern("docs", "add", str(notes(tmp_path / "n", 1)), check=False)
    assert result.returncode == 1
    assert "install-embedder" in result.stderr


def test_a_kill_mid_index_is_resumed_without_duplicates(
    installed_embedder: InstalledModel, tmp_path: Path
) -> None:
    folder = notes(tmp_path / "notes", 40)
    app = subprocess.Popen(
        [sys.executable, "-m", "desktop", "docs", "add", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert app.stderr is not None
    # Its progress lines: killed once a few files are saved and more are to come.
    for line in app.stderr:
        if line.startswith("[6/"):
            break
    else:
        pytest.fail(f"the indexing ended before it could be killed (exit {app.wait()})")
    engines = psutil.Process(app.pid).children()
    os.kill(app.pid, signal.SIGKILL)
    app.wait(timeout=30)
    app.stderr.close()
    assert app.stdout is not None
    app.stdout.close()
    psutil.wait_procs(engines, timeout=30)

    [cut] = lantern_json("docs", "list")
    assert 0 < cut["indexed"] < 40 and cut["indexed"] + cut["queued"] == 40

    resumed = lantern_json("docs", "index")
    assert resumed["files_indexed"] == 40 - cut["indexed"]
    [library] = lantern_json("docs", "list")
    assert (library["indexed"], library["queued"]) == (40, 0)

    # The same files indexed in one go in a fresh library give the same passages.
    fresh = lantern_json("docs", "add", str(notes(tmp_path / "again", 40)), "--library", "Fresh")
    assert fresh["files_indexed"] == 40
    by_name = {row["name"]: row for row in lantern_json("docs", "list")}
    assert by_name["My documents"]["passages"] == by_name["Fresh"]["passages"]
