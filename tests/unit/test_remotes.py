"""The remotes a user adds: names, URLs and `NAME:MODEL` ids; the remotes file (atomic, its
keys never in it, a broken one hiding nothing else); what a server's profile and answers turn
into. No network here."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import keyring.core
import pytest
from hypothesis import given
from hypothesis import strategies as st
from keyring.backends.null import Keyring as NullKeyring

from desktop.engine.protocol import Sampling
from desktop.engine.remote import estimated_tokens, sampling_fields
from desktop.engine.remote_probe import ServerProfile
from desktop.engine.remote_stream import UNKNOWN_TOKEN_ID, generated_tokens
from desktop.errors import InvalidRemote, RemoteNotFound, SecretStoreUnavailable
from desktop.models.remotes import (
    Remote,
    RemoteRegistry,
    ServedModel,
    checked_name,
    checked_url,
    forget_api_key,
    remote_model_id,
    save_api_key,
    split_remote_model_id,
    stored_api_key,
)
from desktop.services.remotes import RemoteService

NAMES = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
    min_size=1,
    max_size=40,
)


@pytest.mark.parametrize("name", ["gpu", "GPU-box_2", "vllm.lab", "a" * 40])
def test_names_of_letters_digits_and_dashes_are_taken(name: str) -> None:
    assert checked_name(f" {name} ") == name


@pytest.mark.parametrize("name", ["", "two words", "a:b", "a" * 41, "café", "x/y"])
def test_other_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(InvalidRemote, match="1 to 40 letters, digits"):
        checked_name(name)


@given(NAMES, st.text(min_size=1))
def test_a_remote_model_id_splits_back_at_the_first_colon(name: str, model: str) -> None:
    assert split_remote_model_id(remote_model_id(name, model)) == (name, model)


@given(st.text())
def test_an_id_without_a_remote_name_before_a_colon_is_not_remote(model_id: str) -> None:
    split = split_remote_model_id(model_id)
    if split is not None:
        name, model = split
        assert checked_name(name) == name and model and model_id == f"{name}:{model}"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("http://192.168.1.20:8000", "http://192.168.1.20:8000"),
        ("http://gpu:8000/v1/", "http://gpu:8000"),
        ("  https://llm.example.org/api/v1  ", "https://llm.example.org/api"),
        ("HTTPS://LLM.example.org:8443/", "https://LLM.example.org:8443"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_urls_are_kept_without_a_trailing_v1(url: str, kept: str) -> None:
    assert checked_url(url) == kept


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://gpu:8000", "is not a server's address"),
        ("gpu:8000", "is not a server's address"),
        ("http://", "is not a server's address"),
        ("", "is not a server's address"),
        ("http://me:secret@gpu:8000", "Leave the user name and password out of the URL"),
        ("http://gpu:port", "is not a URL Lantern can use"),
        ("http://gpu:8000/?key=secret", "has a query or fragment"),
    ],
)
def test_other_urls_are_refused_saying_why(url: str, said: str) -> None:
    with pytest.raises(InvalidRemote, match=said):
        checked_url(url)


def test_the_registry_adds_lists_updates_and_removes(tmp_path: Path) -> None:
    path = tmp_path / "config" / "remotes.json"
    registry = RemoteRegistry(path)
    assert registry.list() == []
    box = registry.add(Remote("box", "http://gpu:8000", has_api_key=True))
    registry.add(Remote("lab", "https://lab.example.org"))
    with pytest.raises(InvalidRemote, match="already named 'box'"):
        registry.add(Remote("box", "http://other:1"))
    tested = Remote("box", box.url, True, (ServedModel("qwen", 32768),), {"kind": "vllm"})
    registry.update(tested)
    assert RemoteRegistry(path).get("box") == tested  # as another process reads it
    assert [r.name for r in registry.list()] == ["box", "lab"]
    assert registry.remove("lab").name == "lab"
    with pytest.raises(RemoteNotFound):
        registry.get("lab")
    with pytest.raises(RemoteNotFound):
        registry.remove("lab")
    assert json.loads(path.read_text())["version"] == 1
    assert not path.with_name("remotes.json.tmp").exists()  # written whole, then moved


def test_a_broken_remotes_file_is_named_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "remotes.json"
    path.write_text("{not json")
    registry = RemoteRegistry(path)
    with pytest.raises(InvalidRemote, match=f"The remotes file {path} cannot be read"):
        registry.list()
    with pytest.raises(InvalidRemote):
        registry.add(Remote("box", "http://gpu:8000"))
    assert path.read_text() == "{not json"


def test_an_entry_edited_into_nonsense_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "remotes.json"
    entries = [
        {"name": "ok", "url": "http://gpu:8000"},
        {"name": "bad name", "url": "http://gpu:8000"},
        {"name": "noscheme", "url": "gpu:8000"},
        {"url": "http://gpu:8000"},
        1,
        ["x"],
        None,
        {"name": 5, "url": "http://gpu:8000"},
        {"name": "a", "url": 7},
        {"name": "odd", "url": "http://gpu:8000", "models": [1, {"id": 2}, {"id": "m"}]},
        {"name": "odder", "url": "http://gpu:8000", "models": 5, "has_api_key": "no"},
    ]
    path.write_text(json.dumps({"version": 1, "remotes": entries}))
    ok, odd, odder = RemoteRegistry(path).list()
    assert [r.name for r in (ok, odd, odder)] == ["ok", "odd", "odder"]
    assert odd.models == (ServedModel("m"),) and odder.models == ()
    assert not odder.has_api_key  # only `true` says a key was given


def test_a_broken_remotes_file_hides_no_local_model_and_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "remotes.json"
    path.write_text("{not json")
    remotes = RemoteService(path)
    first, second = remotes.model_listing(), remotes.model_listing()
    assert first == second and first.entries == ()
    assert first.unreadable is not None and f"The remotes file {path}" in first.unreadable
    said = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and "cannot be read" in said[0].getMessage()
    path.write_text(json.dumps({"remotes": [{"name": "box", "url": "http://gpu:8000"}]}))
    assert remotes.model_listing().unreadable is None


def test_the_api_key_is_in_the_keyring_never_in_the_file(
    tmp_path: Path, file_keyring: Path
) -> None:
    path = tmp_path / "remotes.json"
    key = "sk-lantern-0123456789"
    RemoteRegistry(path).add(Remote("box", "http://gpu:8000", has_api_key=True))
    save_api_key("box", key)
    assert key not in path.read_text()
    assert stored_api_key("box") == key and stored_api_key("other") is None
    forget_api_key("box")
    forget_api_key("box")  # none left: nothing to do
    assert stored_api_key("box") is None


def test_a_keyring_that_keeps_nothing_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", NullKeyring())
    with pytest.raises(SecretStoreUnavailable, match="never writes it to a file"):
        save_api_key("box", "sk-key")


def test_a_profile_survives_the_file_and_nonsense_reads_as_nothing() -> None:
    profile = ServerProfile(
        kind="llama-cpp-python",
        raw_completion=True,
        logprobs=True,
        json_schema="json_object",
        grammar=True,
        tokenize="llama-cpp-python",
        tokenize_adds=(1,),
    )
    assert ServerProfile.from_json(json.loads(json.dumps(profile.to_json()))) == profile
    junk = {"kind": "skynet", "logprobs": "yes", "json_schema": 3, "tokenize_adds": ["a", 2]}
    assert ServerProfile.from_json(junk) == ServerProfile(tokenize_adds=(2,))


def test_sampling_goes_as_each_kind_of_server_names_it() -> None:
    sampling = Sampling(temperature=0.2, top_k=30, repeat_penalty=1.1, mirostat=2, stop=("##",))
    plain = sampling_fields(sampling, 5, ServerProfile())
    assert plain == {
        "max_tokens": 1024,
        "temperature": 0.2,
        "top_p": 0.95,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "seed": 5,
        "stop": ["##"],
    }
    llama_server = sampling_fields(sampling, 5, ServerProfile(kind="llama-server"))
    assert llama_server["mirostat"] == 2 and llama_server["repeat_penalty"] == 1.1
    assert (
        sampling_fields(sampling, 5, ServerProfile(kind="llama-cpp-python"))["mirostat_mode"] == 2
    )
    vllm = sampling_fields(sampling, 5, ServerProfile(kind="vllm"))
    assert (vllm["top_k"], vllm["repetition_penalty"]) == (30, 1.1) and "mirostat" not in vllm


def test_token_estimates_are_four_bytes_a_token_rounded_up() -> None:
    assert [estimated_tokens(t) for t in ("", "abc", "abcd", "abcde", "世界")] == [0, 1, 1, 2, 2]


def test_logprobs_read_in_the_chat_and_the_completions_forms() -> None:
    chat = {
        "content": [
            {
                "token": " Paris",
                "logprob": -0.25,
                "id": 7042,
                "top_logprobs": [
                    {"token": " Paris", "logprob": -0.25, "id": 7042},
                    {"token": " the", "logprob": -2.5},
                ],
            }
        ]
    }
    (token,) = generated_tokens(chat)
    assert (token.choice.token_id, token.choice.text, token.choice.logprob) == (
        7042,
        " Paris",
        -0.25,
    )
    assert [a.text for a in token.alternatives] == [" Paris", " the"]
    assert token.alternatives[1].token_id == UNKNOWN_TOKEN_ID
    legacy = {
        "tokens": [" Paris", "."],
        "token_logprobs": [-0.25, None],
        "top_logprobs": [{" the": -2.5, " Paris": -0.25}, {".": -0.1}],
    }
    first, second = generated_tokens(legacy)
    assert [a.text for a in first.alternatives] == [" Paris", " the"]  # best first
    assert second.choice.logprob == float("-inf")  # a server that gave none
    assert generated_tokens(None) == generated_tokens({"content": "odd"}) == ()
