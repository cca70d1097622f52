"""`lantern serve` end to end, as a real subprocess: it says where it listens, serves the
official client, and stops cleanly on Ctrl+C or SIGTERM; bad input is one clear line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from lantern_serve_process import ADDRESS_LINE, lantern_serve, lines_until_address

from desktop.models.installed import InstalledModel

KEY = "lt-a-key-for-this-run"


def stopped(server: subprocess.Popen[str], how: signal.Signals) -> tuple[int, str, str]:
    """Its exit code and the rest of its output, once `how` has stopped it."""
    server.send_signal(how)
    assert server.stdout is not None and server.stderr is not None
    out, err = server.stdout.read(), server.stderr.read()  # to the end: it has exited
    server.stdout.close()
    server.stderr.close()
    assert "Traceback" not in err, err
    return server.wait(timeout=120), out, err


def ask(url: str, key: str, model: str) -> str | None:
    client = openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=240)
    answer = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hi"}], max_tokens=4, temperature=0
    )
    return answer.choices[0].message.content


def test_serve_with_a_key_from_stdin_until_ctrl_c(installed_starter: InstalledModel) -> None:
    server = lantern_serve("--port", "0", "--api-key-stdin", key=f"{KEY}\n")
    *_, address = lines_until_address(server)
    url = address.removeprefix(ADDRESS_LINE).strip()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert ask(url, KEY, installed_starter.id)
    with pytest.raises(openai.AuthenticationError):
        ask(url, "lt-another-key", installed_starter.id)

    code, out, err = stopped(server, signal.SIGINT)
    assert code == 0, err
    assert "API key: the one given on standard input" in out and KEY not in out + err
    assert "warning" not in err  # 127.0.0.1: nothing to warn of
    assert err.strip().endswith("Stopped.")


def test_serve_with_the_keyrings_key_until_sigterm(
    installed_starter: InstalledModel, file_keyring: Path
) -> None:
    server = lantern_serve("--port", "0")
    *_, address = lines_until_address(server)
    url = address.removeprefix(ADDRESS_LINE).strip()
    assert server.stdout is not None
    key_line = server.stdout.readline()
    assert key_line.startswith("API key: lt-")
    key = key_line.removeprefix("API key: ").strip()
    assert ask(url, key, installed_starter.id)
    code, out, _ = stopped(server, signal.SIGTERM)
    assert code == 0 and f"Models: {installed_starter.id}" in out
    # Each request is a line as it ends, without what it said.
    [line] = [line for line in out.splitlines() if "POST /v1/chat/completions · 200" in line]
    assert f"{installed_starter.id} · " in line and " + 4 tokens" in line


def test_listening_on_the_network_is_said_with_a_warning(
    installed_starter: InstalledModel,
) -> None:
    server = lantern_serve("--host", "0.0.0.0", "--port", "0", "--api-key-stdin", key=KEY)
    *_, address = lines_until_address(server)
    assert address.startswith(f"{ADDRESS_LINE}http://127.0.0.1:")
    code, _, err = stopped(server, signal.SIGINT)
    assert code == 0
    assert "warning: listening on 0.0.0.0: other computers on the network can reach" in err


def run_serve(*args: str, key: str = "") -> subprocess.CompletedProcess[str]:
    """`lantern serve ARGS` that is to fail before it serves; `key` on its standard input."""
    result = subprocess.run(
        [sys.executable, "-m", "desktop", "serve", *args],
        input=key,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
        start_new_session=True,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def test_a_wildcard_cors_origin_is_one_clear_error(installed_starter: InstalledModel) -> None:
    line = one_error_line(run_serve("--cors-origin", "*", "--api-key-stdin", key=KEY))
    assert "every web page" in line


def test_without_a_keyring_it_says_to_give_a_key(installed_starter: InstalledModel) -> None:
    # The tests' default keyring keeps nothing: as a system without one.
    line = one_error_line(run_serve("--port", "0"))
    assert "keyring" in line and "--api-key-stdin" in line


def test_without_a_model_it_says_how_to_get_one(file_keyring: Path) -> None:
    line = one_error_line(run_serve("--port", "0"))
    assert "No model is installed" in line and "lantern models" in line


def test_a_port_in_use_is_one_clear_error(installed_starter: InstalledModel) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        line = one_error_line(run_serve("--port", port, "--api-key-stdin", key=KEY))
    assert f"Port {port} on 127.0.0.1 is in use" in line
