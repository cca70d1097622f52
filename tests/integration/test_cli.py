"""The `lantern` command end to end, through subprocesses, on the real starter model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from desktop import __version__
from desktop.display_libraries import check_display_libraries
from desktop.models.installed import InstalledModel


def lantern(
    *args: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=240,
        env=os.environ.copy(),
    )
    assert "Traceback" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, result.stderr
    return result


def running_lantern(*args: str) -> subprocess.Popen[str]:
    """`lantern ARGS` started in a session of its own (so that a signal to its group reaches
    it and its engine together, as Ctrl+C in a terminal does), its output piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "desktop", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
        start_new_session=True,
    )


def lantern_json(*args: str) -> Any:
    return json.loads(lantern(*args, "--json").stdout)


def test_version() -> None:
    assert lantern("--version").stdout.strip() == f"Lantern {__version__}"


def test_commands_log_to_a_file_in_the_log_folder(lantern_home: Path) -> None:
    lantern("models", "import", "/nonexistent.gguf", check=False)
    log = (lantern_home / "logs" / "lantern.log").read_text(encoding="utf-8")
    assert "User error: /nonexistent.gguf does not exist" in log


def test_import_list_and_remove_a_model(starter_model_path: Path) -> None:
    assert lantern_json("models", "list") == []
    out = lantern("models", "import", str(starter_model_path)).stdout
    assert "Imported SmolLM2-135M-Instruct.Q4_1" in out
    [row] = lantern_json("models", "list")
    assert row["quantization"] == "Q4_1" and row["context_length"] == 8192
    assert lantern("models", "rm", row["id"]).stdout.strip() == f"Removed {row['id']}"
    assert lantern_json("models", "list") == []


def test_importing_a_file_that_is_not_a_model_fails_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "photo.gguf"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    result = lantern("models", "import", str(bad), check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: photo.gguf is not a GGUF model file")
    missing = lantern("models", "import", str(tmp_path / "nope.gguf"), check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_chat_streams_stores_and_continues(installed_starter: InstalledModel) -> None:
    first = lantern("chat", "--max-tokens", "16", "--temperature", "0", "Name a colour.")
    assert first.stdout.strip()
    assert "tok/s" in first.stderr
    [conversation] = lantern_json("history", "list")
    assert conversation["title"] == "Name a colour." and conversation["message_count"] == 2
    turn = json.loads(
        lantern(
            "chat",
            "--conversation",
            str(conversation["id"]),
            "--max-tokens",
            "8",
            "--json",
            "-",
            stdin="And another one?",
        ).stdout
    )
    assert turn["conversation_id"] == conversation["id"] and turn["status"] == "complete"
    assert turn["stats"]["generated_tokens"] <= 8
    shown = lantern_json("history", "show", str(conversation["id"]))
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant", "user", "assistant"]
    assert shown["messages"][2]["content"] == "And another one?"
    assert shown["messages"][3]["content"] == turn["content"]


def test_user_errors_are_one_plain_line() -> None:
    no_model = lantern("chat", "hello", check=False)
    assert no_model.returncode == 1
    assert no_model.stderr.startswith("error: No model is installed yet")
    assert "`lantern models install-starter`" in no_model.stderr  # the command line's advice
    assert "Models page" not in no_model.stderr  # the window's is not for a terminal
    unknown = lantern("history", "show", "42", check=False)
    assert (
        unknown.returncode == 1
        and unknown.stderr == "error: There is no conversation 42. See `lantern history list`.\n"
    )
    bad_flag = lantern("chat", "--temperature", "hot", "hi", check=False)
    assert bad_flag.returncode == 2 and "is not a number" in bad_flag.stderr


def test_doctor_reports_backend_paths_and_models(
    installed_starter: InstalledModel, lantern_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)  # the real platform plugin's verdict
    report = lantern_json("doctor")
    assert report["version"] == __version__
    assert report["backend"] in ("CPU", "CUDA", "Metal", "Vulkan")
    assert any(d["kind"] == "cpu" for d in report["devices"])
    assert report["memory"]["available_bytes"] > 0
    assert Path(report["paths"]["database"]).is_relative_to(lantern_home)
    assert [m["id"] for m in report["models"]] == [installed_starter.id]
    # The window's libraries: the same verdict as the check itself, in its own section.
    window = check_display_libraries()
    assert report["display"]["missing_libraries"] == list(window.missing)
    assert report["display"]["install_command"] == window.install_command
    assert f"\n{window.message()}\n" in lantern("doctor").stdout


def test_bench_compares_both_paths(installed_starter: InstalledModel) -> None:
    report = lantern_json("bench", "--runs", "1", "--max-tokens", "16")
    for path in ("lantern", "direct"):
        assert report[path]["generated_tokens"] > 1
        assert report[path]["decode_tokens_per_s"] > 0
    # Same greedy prompt, same model: both paths must see the same prompt.
    assert report["lantern"]["prompt_tokens"] == report["direct"]["prompt_tokens"]
    assert report["decode_ratio"] > 0 and report["prefill_ratio"] > 0


def test_killing_the_app_mid_answer_loses_nothing(installed_starter: InstalledModel) -> None:
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "desktop",
            "chat",
            "--max-tokens",
            "2000",
            "Write a very long story about a lighthouse keeper.",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert app.stdout is not None
    received = ""
    deadline = time.monotonic() + 120
    # About 150 tokens: several half-second flushes at any speed this model runs at.
    while len(received) < 600 and time.monotonic() < deadline:
        piece = app.stdout.read(1)
        if not piece:  # the app ended: its error is on stderr
            assert app.stderr is not None
            pytest.fail(f"The app ended (exit {app.wait()}): {received!r} {app.stderr.read()}")
        received += piece
    engines = psutil.Process(app.pid).children()
    assert engines, "the engine runs in a process of its own"
    os.kill(app.pid, signal.SIGKILL)
    app.wait(timeout=30)
    app.stdout.close()
    assert app.stderr is not None
    app.stderr.close()
    _, alive = psutil.wait_procs(engines, timeout=30)
    assert not alive, "the engine process does not outlive the app"
    [conversation] = lantern_json("history", "list")
    shown = lantern_json("history", "show", str(conversation["id"]))
    user, answer = shown["messages"]
    assert user["content"] == "Write a very long story about a lighthouse keeper."
    assert answer["status"] == "interrupted"
    assert len(answer["content"]) >= 100 and received.startswith(answer["content"][:100])
