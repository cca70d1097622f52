"""A remote server's model in every command that takes `--model`, end to end in subprocesses,
against llama-cpp-python's own server on 127.0.0.1: listed by `models list`, answering in
`chat`, `summarize`, `translate` and `complete`, measured by `bench`. And what a connection
dropped in the middle of an answer leaves: the partial answer, kept and marked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llama_cpp_server import LlamaCppServer
from remote_stand_in import API_KEY, MODEL, Fault, StandIn

from desktop.errors import EngineCrashed
from desktop.paths import app_paths
from desktop.services.app import Lantern
from desktop.services.remotes import RemoteService


@pytest.fixture(autouse=True)
def _keyring(file_keyring: Path) -> None:
    """Every command here reads the key from the test's keyring file."""


@pytest.fixture
def remote_id(llama_cpp_server: LlamaCppServer) -> str:
    """The server added as the remote "gpu"; its model's id as `--model` takes it."""
    service = RemoteService(app_paths().remotes_file)
    try:
        service.add("gpu", llama_cpp_server.url, llama_cpp_server.api_key)
    finally:
        service.close()
    return f"gpu:{llama_cpp_server.model}"


def lantern(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
        env=os.environ.copy(),
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_models_list_shows_the_remotes_models_beside_the_installed_ones(
    installed_starter: object, remote_id: str
) -> None:
    result = lantern("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["id"] for row in rows] == ["SmolLM2-135M-Instruct.Q4_1", remote_id]
    assert rows[1]["remote"] == "gpu" and "remote" not in rows[0]


def test_a_remotes_file_that_cannot_be_read_hides_no_installed_model(
    installed_starter: object,
) -> None:
    app_paths().remotes_file.parent.mkdir(parents=True, exist_ok=True)
    app_paths().remotes_file.write_text("{not json")
    result = lantern("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert [row["id"] for row in json.loads(result.stdout)] == ["SmolLM2-135M-Instruct.Q4_1"]
    assert result.stderr.startswith(
        f"warning: The remotes file {app_paths().remotes_file} cannot be read"
    )
    assert result.stderr.count("\n") == 1


def test_bench_on_a_server_that_fails_the_baseline_is_one_clear_line(stand_in: StandIn) -> None:
    service = RemoteService(app_paths().remotes_file)
    try:
        service.add("box", stand_in.url, API_KEY)
    finally:
        service.close()
    # Lantern's turn is answered; the same request asked directly then fails.
    stand_in.faults.extend([Fault("answer"), Fault("server_error")])
    result = lantern("bench", "--model", f"box:{MODEL}", "--runs", "1", "--max-tokens", "4")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.endswith(
        "\nerror: The server box failed the request (HTTP 500: CUDA error: out of memory).\n"
    )
    assert not stand_in.faults  # the baseline's request was the one that failed


def test_a_chat_on_a_remote_model_is_answered_and_stored(remote_id: str) -> None:
    result = lantern("chat", "Say hello.", "--model", remote_id, "--max-tokens", "16")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    listed = json.loads(lantern("history", "list", "--json").stdout)
    shown = json.loads(lantern("history", "show", str(listed[0]["id"]), "--json").stdout)
    answer = shown["messages"][-1]
    assert answer["content"].strip() == result.stdout.strip()
    assert answer["stats"]["model_id"] == remote_id


def test_summarize_translate_and_complete_run_on_a_remote_model(
    remote_id: str, tmp_path: Path
) -> None:
    text = tmp_path / "note.md"
    text.write_text("# Notes\n\nThe lighthouse is on the point.\n\nIts light is warm.\n")
    summary = lantern("summarize", str(text), "--model", remote_id, "--json")
    assert summary.returncode == 0, summary.stderr
    record = json.loads(summary.stdout)
    assert record["model_id"] == remote_id and record["status"] == "complete"
    assert record["summary"].strip()

    translation = lantern("translate", str(text), "--to", "fr", "--model", remote_id, "--json")
    assert translation.returncode == 0, translation.stderr
    session = json.loads(translation.stdout)
    assert session["model_id"] == remote_id and session["status"] == "complete"
    assert all(s["translation"] for s in session["segments"] if s["translatable"])

    completion = lantern(
        "complete", "The capital of France is", "--model", remote_id, "--max-tokens", "8"
    )
    assert completion.returncode == 0, completion.stderr
    assert completion.stdout.strip()


def test_bench_measures_a_remote_model_against_the_same_server_asked_directly(
    remote_id: str,
) -> None:
    result = lantern("bench", "--model", remote_id, "--runs", "1", "--max-tokens", "16", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model_id"] == remote_id and report["backend"] == "remote gpu"
    assert report["lantern"]["generated_tokens"] > 1 and report["decode_ratio"] > 0


def test_an_unknown_remote_model_is_one_clear_line(remote_id: str) -> None:
    result = lantern("chat", "Hello?", "--model", "gpu:no-such-model")
    assert result.returncode == 1
    assert "The server gpu has no model 'no-such-model'" in result.stderr


@pytest.mark.parametrize("fault", [Fault("drop", after_pieces=3), Fault("cut", after_pieces=3)])
def test_an_answer_cut_short_keeps_the_partial_answer_interrupted(
    fault: Fault, stand_in: StandIn
) -> None:
    """A connection dropped mid-answer, or an answer the server ended for no normal reason
    (vLLM's "abort"): kept and marked, as after a local engine crash."""
    app = Lantern()
    try:
        app.remotes.add("box", stand_in.url, API_KEY)
        stand_in.faults.append(fault)
        turn = app.chat.send("Hello?", model_id=f"box:{MODEL}")
        pieces: list[str] = []
        with pytest.raises(EngineCrashed):
            for piece in turn:
                pieces.append(piece)
        stored = app.chat.conversation(turn.conversation.id)[1][-1]
        assert stored.status == "interrupted"
        assert stored.content == "".join(pieces) == "Hello, world"
    finally:
        app.close()
