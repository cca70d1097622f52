"""`lantern models login` keeps the token out of shell history, the process list and the
screen: a hidden prompt at a terminal, standard input otherwise, `--token` only with a
warning. Real subprocesses, a real pseudo-terminal, a keyring kept in a file."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

TOKEN = "hf_LanternTestToken0123456789abcdef"
PROMPT = b"Hugging Face access token (input hidden): "
SAVED = "Token saved in the system keyring; gated models you have access to can be downloaded.\n"
LOGIN = [sys.executable, "-m", "desktop", "models", "login"]


@pytest.fixture(autouse=True)
def keyring_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A keyring that keeps its secrets in a file, standing in for the system's keyring."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "keyring"))


def _login(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    # A session of its own: no controlling terminal, so nothing can ask the developer's.
    result = subprocess.run(
        [*LOGIN, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
        env=os.environ.copy(),
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _saved_token() -> str | None:
    script = "from desktop.models.hub_token import stored_token; print(stored_token())"
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()
    return None if found == "None" else found


def test_a_token_piped_in_is_saved_silently() -> None:
    result = _login(stdin=f"{TOKEN}\n")
    assert (result.returncode, result.stdout, result.stderr) == (0, SAVED, "")
    assert _saved_token() == TOKEN


def test_token_on_the_command_line_still_works_but_warns_how_to_avoid_it() -> None:
    result = _login("--token", TOKEN, stdin="")
    assert result.returncode == 0 and result.stdout == SAVED
    assert result.stderr.startswith("warning: a token given with --token stays in your shell's")
    assert 'echo "$HF_TOKEN" | lantern models login' in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert _saved_token() == TOKEN


def test_token_dash_reads_standard_input_without_a_warning() -> None:
    result = _login("--token", "-", stdin=f"  {TOKEN}  \n")
    assert (result.returncode, result.stderr) == (0, "")
    assert _saved_token() == TOKEN


@pytest.mark.parametrize("stdin", ["", "\n", "   \n\n"])
def test_an_empty_token_is_refused_and_nothing_saved(stdin: str) -> None:
    result = _login(stdin=stdin)
    assert result.returncode == 1
    assert result.stderr.startswith("error: No token was given. Copy one from ")
    assert 'echo "$HF_TOKEN" | lantern models login' in result.stderr
    assert result.stdout == ""
    assert _saved_token() is None


def test_text_that_is_not_one_token_is_refused_without_repeating_it() -> None:
    result = _login(stdin=f"{TOKEN}\nsomething else\n")
    assert result.returncode == 1
    assert result.stderr.startswith("error: That is not one access token")
    assert TOKEN not in result.stdout + result.stderr
    assert _saved_token() is None


def _read_until(terminal: int, wanted: bytes) -> bytes:
    """What the program wrote to the terminal, up to `wanted` or to its end."""
    seen = b""
    while wanted not in seen:
        ready, _, _ = select.select([terminal], [], [], 120)
        assert ready, f"the program stopped writing; it wrote {seen!r}"
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # EIO: every end of the terminal closed, the program is gone
            break
        if not chunk:
            break
        seen += chunk
    return seen


def test_at_a_terminal_the_token_is_asked_for_hidden_and_never_shown() -> None:
    terminal, program_side = pty.openpty()
    login = subprocess.Popen(
        LOGIN,
        stdin=program_side,
        stdout=program_side,
        stderr=program_side,
        start_new_session=True,  # the pseudo-terminal is its only terminal
        env=os.environ.copy(),
    )
    os.close(program_side)
    try:
        screen = _read_until(terminal, PROMPT)
        assert screen.endswith(PROMPT)
        os.write(terminal, f"{TOKEN}\n".encode())
        screen += _read_until(terminal, b"\x00never")  # everything, to the end
        assert login.wait(timeout=120) == 0
    finally:
        login.kill()
        os.close(terminal)
    assert TOKEN.encode() not in screen, "the typed token was echoed to the screen"
    assert b"Token saved in the system keyring" in screen
    assert b"warning" not in screen.lower()
    assert _saved_token() == TOKEN
