"""`lantern remote` end to end, in subprocesses, against llama-cpp-python's own server on
127.0.0.1; the API key piped in and kept in a keyring in a file of the test's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from llama_cpp_server import LlamaCppServer, free_port

from desktop.models.remotes import Remote, RemoteRegistry, save_api_key
from desktop.paths import app_paths


@pytest.fixture(autouse=True)
def _keyring(file_keyring: Path) -> None:
    """Every command here keeps keys in the test's keyring file."""


def lantern(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    # A session of its own: no controlling terminal, so nothing can ask the developer's.
    result = subprocess.run(
        [sys.executable, "-m", "desktop", "remote", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        start_new_session=True,
        env=os.environ.copy(),
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def listing() -> list[dict[str, Any]]:
    result = lantern("list", "--json")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_add_list_and_remove_a_remote(llama_cpp_server: LlamaCppServer) -> None:
    key = llama_cpp_server.api_key
    added = lantern("add", "gpu", f"{llama_cpp_server.url}/v1", "--api-key-stdin", stdin=f"{key}\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith(f"Added gpu at {llama_cpp_server.url}.\n")
    assert "llama-cpp-python server, answered in " in added.stdout
    assert f"  gpu:{llama_cpp_server.model}\tcontext not stated by the server" in added.stdout
    assert key not in added.stdout + added.stderr
    assert key not in app_paths().remotes_file.read_text()

    (row,) = listing()
    assert row["name"] == "gpu" and row["url"] == llama_cpp_server.url
    assert row["reachable"] is True and row["models"] == 1 and row["error"] is None
    assert row["latency_ms"] > 0

    tested = lantern("test", "gpu", "--json")
    assert tested.returncode == 0, tested.stderr
    found = json.loads(tested.stdout)
    assert [m["id"] for m in found["models"]] == [f"gpu:{llama_cpp_server.model}"]
    assert found["server"] == "llama-cpp-python" and found["cannot"]["grammar"] is None
    assert "chat template itself" in found["cannot"]["rendered_prompt"]

    duplicate = lantern("add", "gpu", llama_cpp_server.url)
    assert duplicate.returncode == 1
    assert duplicate.stderr.startswith("error: A remote is already named 'gpu'")

    removed = lantern("rm", "gpu")
    assert (removed.returncode, removed.stdout) == (0, "Removed gpu and its API key.\n")
    assert listing() == []
    again = lantern("rm", "gpu")
    assert again.returncode == 1
    assert again.stderr == "error: No remote is named 'gpu'. See `lantern remote list`.\n"


def test_a_wrong_key_is_one_clear_line_and_nothing_is_added(
    llama_cpp_server: LlamaCppServer,
) -> None:
    result = lantern("add", "gpu", llama_cpp_server.url, "--api-key-stdin", stdin="wrong-key\n")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(
        "error: The server gpu refused the API key (HTTP 401: Invalid API key). "
        'Give the server\'s key: `echo "$KEY" | lantern remote add NAME URL --api-key-stdin`'
    )
    assert result.stderr.count("\n") == 1 and "wrong-key" not in result.stderr
    assert listing() == []


def test_an_unreachable_url_is_one_clear_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = lantern("add", "gpu", url)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        f"error: Cannot reach the server gpu at {url}: nothing answers at that address and "
        "port (is the server running?). Check that the server is running and that its URL is "
        "right (`lantern remote list` shows it).\n"
    )
    assert listing() == []


@pytest.mark.parametrize(
    ("args", "stdin", "said"),
    [
        (("add", "my gpu", "http://gpu:8000"), "", "'my gpu' cannot name a remote"),
        (("add", "gpu", "gpu:8000"), "", "'gpu:8000' is not a server's address"),
        (("add", "gpu", "http://gpu:8000", "--api-key-stdin"), "\n", "needs the API key"),
        (("add", "gpu", "http://gpu:8000", "--api-key-stdin"), "two words", "needs the API key"),
        (("add", "gpu", "http://gpu:8000", "--api-key-stdin"), "sk-é\n", "an HTTP header cannot"),
        (("add", "gpu", "http://gpu:8000", "--api-key-stdin"), "sk-“x”", "an HTTP header cannot"),
    ],
)
def test_bad_input_is_refused_before_any_connection(
    args: tuple[str, ...], stdin: str, said: str
) -> None:
    result = lantern(*args, stdin=stdin)
    assert result.returncode == 1 and said in result.stderr
    assert result.stderr.count("\n") == 1
    assert not stdin.strip() or stdin.strip() not in result.stderr  # the key is never shown
    assert listing() == []


@pytest.fixture
def gpu(llama_cpp_server: LlamaCppServer) -> None:
    """The server added as the remote "gpu", with its key."""
    key = llama_cpp_server.api_key
    assert lantern("add", "gpu", llama_cpp_server.url, "--api-key-stdin", stdin=key).returncode == 0


@pytest.mark.usefixtures("gpu")
def test_a_remote_that_stopped_answering_is_listed_as_unreachable() -> None:
    remotes = json.loads(app_paths().remotes_file.read_text())
    remotes["remotes"][0]["url"] = f"http://127.0.0.1:{free_port()}"  # the server moved away
    app_paths().remotes_file.write_text(json.dumps(remotes))
    (row,) = listing()
    assert row["reachable"] is False and row["latency_ms"] is None and row["models"] == 1
    assert "nothing answers at that address and port" in row["error"]
    text = lantern("list")
    assert text.returncode == 0 and "\t-\t1 model\tunreachable: Cannot reach" in text.stdout


def test_a_url_with_nothing_of_the_api_at_it_says_to_check_the_url(
    llama_cpp_server: LlamaCppServer,
) -> None:
    key = llama_cpp_server.api_key
    result = lantern("add", "gpu", f"{llama_cpp_server.url}/api", "--api-key-stdin", stdin=key)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(
        f"error: The server gpu has nothing at {llama_cpp_server.url}/api/v1/models (HTTP 404"
    )
    assert "Check the URL" in result.stderr and "lantern remote test" not in result.stderr
    assert listing() == []


@pytest.mark.usefixtures("gpu")
def test_a_remote_that_refuses_its_key_is_listed_as_answering_with_that_error() -> None:
    save_api_key("gpu", "a-key-revoked-since")
    (row,) = listing()
    assert (row["reachable"], row["problem"]) == (True, "key_refused")
    assert row["error"].startswith("The server gpu refused the API key (HTTP 401")
    text = lantern("list")
    assert "\tkey refused: The server gpu refused the API key" in text.stdout


def test_removing_a_remote_whose_key_the_keyring_keeps_says_where_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    RemoteRegistry(app_paths().remotes_file).add(Remote("gpu", "http://gpu:8000", True))
    # A keyring that refuses everything (keyring's own), in the command started here.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    result = lantern("rm", "gpu")
    assert (result.returncode, result.stdout) == (1, "Removed gpu.\n")
    assert result.stderr.startswith(
        "error: The API key of gpu is still in the system keyring: the keyring would not "
        "remove it (No recommended backend"
    )
    assert result.stderr.endswith(
        'remove the entry "remote-api-key:gpu" of the service "Lantern" there.\n'
    )
    assert listing() == []
