"""The Server page's code to call Lantern's API: the curl command, run by a real shell, and
the Python script, run against a stand-in openai module, send what they should: the address,
the key (written in, or read from the environment when the page does not show it), the model
and the messages, whatever characters they hold."""

from __future__ import annotations

import json
import subprocess

import pytest
from test_playground_text import TRICKY, fake_openai, run_script

from desktop.engine.protocol import ChatMessage
from desktop.tasks.code_export import (
    KEY_VARIABLE,
    ServerAccess,
    curl_chat_code,
    openai_chat_code,
)

URL = "http://127.0.0.1:8537/v1"
KEY = "lt-Ab_9-x"
MODEL = 'it\'s "a" $model `here`'


def curl_arguments(code: str, environment_key: str = "") -> list[str]:
    """What the command hands curl, in bash: a stand-in curl prints its arguments."""
    script = f'curl() {{ printf "%s\\0" "$@"; }}\n{KEY_VARIABLE}={environment_key!s}\n{code}'
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    return out.decode("utf-8").split("\0")[:-1]


def test_curl_sends_the_key_the_model_and_the_messages() -> None:
    messages = (ChatMessage("system", "Be terse."), ChatMessage("user", TRICKY))
    arguments = curl_arguments(curl_chat_code(ServerAccess(URL, KEY), MODEL, messages))
    url, *headers, data_flag, body = arguments
    assert url == f"{URL}/chat/completions"
    assert headers == ["-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {KEY}"]
    assert data_flag == "-d"
    assert json.loads(body) == {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": TRICKY},
        ],
    }


def test_curl_reads_a_key_it_does_not_show_from_the_environment() -> None:
    code = curl_chat_code(ServerAccess(URL), "m")
    assert KEY not in code and KEY_VARIABLE in code
    assert f"Authorization: Bearer {KEY}" in curl_arguments(code, environment_key=KEY)


def test_python_sends_the_key_the_model_and_the_messages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = openai_chat_code(ServerAccess(URL, KEY), MODEL)
    with fake_openai() as calls:
        run_script(code)
    assert capsys.readouterr().out == "chat\n"
    assert calls["OpenAI"] == {"base_url": URL, "api_key": KEY}
    assert calls["chat.completions"] == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Say hello."}],
    }


def test_python_reads_a_key_it_does_not_show_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = openai_chat_code(ServerAccess(URL), "m")
    assert KEY not in code
    with fake_openai() as calls:
        monkeypatch.setenv(KEY_VARIABLE, KEY)  # inside: the stand-in sets a key of its own
        run_script(code)
    assert calls["OpenAI"] == {"base_url": URL, "api_key": KEY}
