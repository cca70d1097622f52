"""`lantern models pull / login / logout` against the local test Hub, through subprocesses:
a verified download, a pull killed halfway and resumed, a damaged transfer, a dropped
connection, a gated repository."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import CATALOG_STARTER_REPO, GATED_REPO, SPLIT_REPO, STARTER_REPO
from hub_server import Faults, LocalHub
from test_cli import lantern, lantern_json

STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _partials(home: Path) -> list[Path]:
    return sorted((home / "models" / ".downloads").rglob("*.part"))


def test_pull_installs_a_verified_model_under_its_owner(
    test_hub: LocalHub, lantern_home: Path, starter_model_path: Path
) -> None:
    result = lantern("models", "pull", STARTER_REPO)
    assert f"Installed {STARTER_REPO}/SmolLM2-135M-Instruct.Q4_1 (Q4_1, 98.4 MB)" in result.stdout
    assert "Downloading SmolLM2-135M-Instruct.Q4_1.gguf (Q4_1, 98.4 MB)" in result.stderr
    assert "100.0%" in result.stderr  # the progress line reached the end
    (model,) = lantern_json("models", "list")
    assert model["id"] == f"{STARTER_REPO}/SmolLM2-135M-Instruct.Q4_1"
    assert _sha256(Path(model["path"])) == _sha256(starter_model_path)
    assert not _partials(lantern_home), "no .part file left behind"
    (download,) = lantern_json("models", "downloads")
    assert download["status"] == "done" and download["model_id"] == model["id"]

    again = lantern("models", "pull", STARTER_REPO)
    assert f"Already installed as {STARTER_REPO}/SmolLM2-135M-Instruct.Q4_1" in again.stdout
    assert len(test_hub.file_requests(STARTER_FILE)) == 1, "nothing downloaded twice"


def test_a_pull_killed_halfway_resumes_from_the_bytes_on_disk(
    test_hub: LocalHub, lantern_home: Path, starter_model_path: Path
) -> None:
    size = starter_model_path.stat().st_size
    half = size // 2
    test_hub.faults[STARTER_FILE] = stall = Faults(stall_at=half)
    pull = subprocess.Popen(
        [sys.executable, "-m", "desktop", "models", "pull", STARTER_REPO],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 120
        while not (_partials(lantern_home) and _partials(lantern_home)[0].stat().st_size == half):
            assert pull.poll() is None and time.monotonic() < deadline, "the pull never got halfway"
            time.sleep(0.05)
        pull.send_signal(signal.SIGKILL)  # a crash, a power cut: no chance to clean up
        pull.wait(timeout=30)
    finally:
        stall.release.set()
        pull.kill()
        pull.communicate()

    result = lantern("models", "pull", STARTER_REPO)
    assert f"resuming at {half / 1e6:.1f} MB" in result.stderr
    first, second = test_hub.file_requests(STARTER_FILE)
    assert first.range is None and first.bytes_sent == half
    assert second.range == f"bytes={half}-", "the second run asked only for the rest"
    assert second.bytes_sent == size - half, "the bytes before it were not sent again"
    (model,) = lantern_json("models", "list")
    assert _sha256(Path(model["path"])) == _sha256(starter_model_path)


def test_a_damaged_transfer_is_rejected_by_sha256_and_deleted(
    test_hub: LocalHub, lantern_home: Path
) -> None:
    test_hub.faults[STARTER_FILE] = Faults(corrupt=True)
    result = lantern("models", "pull", STARTER_REPO, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "SmolLM2-135M-Instruct.Q4_1.gguf arrived damaged (its sha256 is not the one the Hub "
        "lists). The bad file was deleted; download it again."
    )
    assert not _partials(lantern_home)
    assert lantern_json("models", "list") == []
    (download,) = lantern_json("models", "downloads")
    assert download["status"] == "failed" and "arrived damaged" in download["error"]

    test_hub.faults.clear()  # the next try starts afresh and succeeds
    assert "Installed" in lantern("models", "pull", STARTER_REPO).stdout
    assert [d["status"] for d in lantern_json("models", "downloads")] == ["done"]


def test_a_dropped_connection_is_retried_from_where_it_stopped(
    test_hub: LocalHub, starter_model_path: Path
) -> None:
    size = starter_model_path.stat().st_size
    third = size // 3
    test_hub.faults[STARTER_FILE] = Faults(drop_after=third)
    result = lantern("models", "pull", STARTER_REPO)
    assert "Installed" in result.stdout
    first, second = test_hub.file_requests(STARTER_FILE)
    assert first.bytes_sent == third
    assert second.range == f"bytes={third}-" and second.bytes_sent == size - third


def test_a_gated_repo_needs_a_token_and_says_how_to_get_one(
    test_hub: LocalHub, tmp_path: Path, monkeypatch
) -> None:
    denied = lantern("models", "pull", GATED_REPO, check=False)
    assert denied.returncode == 1
    assert "is a gated model" in denied.stderr
    assert "https://huggingface.co/settings/tokens" in denied.stderr
    assert "lantern models login" in denied.stderr

    # A keyring that keeps its secrets in a file, standing in for the system's keyring.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "keyring"))
    lantern("models", "login", "--token", "-", stdin=test_hub.token + "\n")
    assert "Installed" in lantern("models", "pull", GATED_REPO).stdout
    authorized = [r.authorized for r in test_hub.log if "/resolve/" in r.path]
    assert authorized[-1], "the token went with the request"
    assert "Token removed." in lantern("models", "logout").stdout
    assert "No token was saved." in lantern("models", "logout").stdout


def test_a_split_model_downloads_as_one_and_runs(test_hub: LocalHub, lantern_home: Path) -> None:
    result = lantern("models", "pull", SPLIT_REPO)
    assert f"Installed {SPLIT_REPO}/SmolLM2-Q4_1 (Q4_1, 98.4 MB)" in result.stdout
    (model,) = lantern_json("models", "list")
    folder = lantern_home / "models" / SPLIT_REPO
    assert sorted(p.name for p in folder.iterdir()) == [
        "SmolLM2-Q4_1-00001-of-00002.gguf",
        "SmolLM2-Q4_1-00002-of-00002.gguf",
    ]
    assert model["size_bytes"] == sum(p.stat().st_size for p in folder.iterdir())
    # llama.cpp loads the parts together from the first one.
    answer = lantern_json("chat", "Say hi.", "--model", model["id"], "--max-tokens", "4")
    assert answer["status"] == "complete" and answer["content"]
    lantern("models", "rm", model["id"])
    assert not list(folder.iterdir()), "every part removed"


def test_pull_by_catalog_id_takes_the_recommended_quant(test_hub: LocalHub) -> None:
    result = lantern("models", "pull", "smollm2-135m-instruct")
    assert f"Installed {CATALOG_STARTER_REPO}/SmolLM2-135M-Instruct-Q4_K_M" in (result.stdout)


def test_quant_and_file_errors_name_what_exists(test_hub: LocalHub) -> None:
    missing = lantern("models", "pull", STARTER_REPO, "--quant", "Q8_0", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (f"error: {STARTER_REPO} has no Q8_0 file. It offers: Q4_1.")
    no_file = lantern("models", "pull", STARTER_REPO, "--file", "x.gguf", check=False)
    assert "has no file called 'x.gguf'" in no_file.stderr


def test_a_busy_server_is_retried_and_a_vanished_file_is_not(
    test_hub: LocalHub, lantern_home: Path
) -> None:
    test_hub.faults[STARTER_FILE] = Faults(fail_with=[503, 429])
    assert "Installed" in lantern("models", "pull", STARTER_REPO).stdout
    assert [r.status for r in test_hub.file_requests(STARTER_FILE)] == [503, 429, 200]

    lantern("models", "rm", f"{STARTER_REPO}/SmolLM2-135M-Instruct.Q4_1")
    test_hub.faults[STARTER_FILE] = Faults(fail_with=[404])
    started = time.monotonic()
    gone = lantern("models", "pull", STARTER_REPO, check=False)
    assert gone.returncode == 1 and time.monotonic() - started < 20, "not retried for minutes"
    assert "no longer has this file (renamed or removed upstream)" in gone.stderr
