"""The RemoteService against the stand-in (tests/remote_stand_in.py) on 127.0.0.1: its
connections follow what the remotes file and the keyring say now (another Lantern may have
changed them), a remote's lease outlives nothing it should not, token counts carry from one
chat turn to the next, and a server that refuses paths beside the API is still added."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import keyring.core
import pytest
from keyring.backends.fail import Keyring as NoKeyring
from remote_stand_in import API_KEY, MODEL, StandIn

from desktop.engine.protocol import ChatMessage, GenerationRequest, Sampling
from desktop.errors import RemoteClosed, RemoteKeyMissing, SecretStoreUnavailable
from desktop.models.remotes import forget_api_key, save_api_key
from desktop.paths import app_paths
from desktop.services import remotes as remotes_module
from desktop.services.remotes import RemoteService

pytestmark = pytest.mark.engine

MODEL_ID = f"box:{MODEL}"
SHORT = Sampling(max_tokens=2)


@pytest.fixture
def remotes(file_keyring: Path) -> Iterator[RemoteService]:
    service = RemoteService(app_paths().remotes_file)
    yield service
    service.close()


def answer(service: RemoteService, messages: tuple[ChatMessage, ...]) -> str:
    """One chat turn, as ChatService runs it: the model chosen again for the turn."""
    with (
        service.model(MODEL_ID) as model,
        model.generate(GenerationRequest(messages=messages, sampling=SHORT)) as stream,
    ):
        return "".join(stream)


def asked(server: StandIn) -> list[str]:
    """The chats a server was asked (not the probe's), by their last message."""
    chats = [seen.body.get("messages") for seen in server.generation_requests()]
    return [m[-1]["content"] for m in chats if m and m[-1]["content"] != "Say hello."]


def test_a_remote_added_again_elsewhere_is_reached_at_its_new_address(
    remotes: RemoteService, stand_in: StandIn
) -> None:
    moved = StandIn().start()
    try:
        remotes.add("box", stand_in.url, API_KEY)
        assert answer(remotes, (ChatMessage("user", "Hi"),)) == "Hello,"
        elsewhere = RemoteService(app_paths().remotes_file)  # another Lantern, e.g. the CLI
        elsewhere.remove("box")
        elsewhere.add("box", moved.url, API_KEY)
        elsewhere.close()
        assert answer(remotes, (ChatMessage("user", "Hi again"),)) == "Hello,"
        assert (asked(stand_in), asked(moved)) == (["Hi"], ["Hi again"])
    finally:
        moved.stop()


def test_a_lease_on_a_removed_remote_fails_in_words(
    remotes: RemoteService, stand_in: StandIn
) -> None:
    remotes.add("box", stand_in.url, API_KEY)
    with remotes.model(MODEL_ID) as model:  # a summary holds it for all its steps
        remotes.remove("box")
        with (
            model.generate(GenerationRequest(messages=(ChatMessage("user", "Hi"),))) as stream,
            pytest.raises(RemoteClosed, match="The connection to the server box was closed"),
        ):
            list(stream)
    assert asked(stand_in) == []


def test_token_counts_carry_from_one_chat_turn_to_the_next(
    remotes: RemoteService, stand_in: StandIn
) -> None:
    stand_in.tokenize = True  # counts by the server's tokenizer, one request a text
    check = remotes.add("box", stand_in.url, API_KEY)
    assert check.capabilities.exact_token_counts is None
    history = [ChatMessage("system", "Be brief.")]
    asked = []
    for turn in range(3):
        history.append(ChatMessage("user", f"Question {turn}"))
        before = len(stand_in.requests_to("/tokenize"))
        history.append(ChatMessage("assistant", answer(remotes, tuple(history))))
        asked.append(len(stand_in.requests_to("/tokenize")) - before)
    # Each text is counted once: the first turn's two, then what is new (the answer is
    # always "Hello,", new in the second turn only, and each question).
    assert asked == [2, 2, 1]


def test_a_key_the_keyring_lost_is_said_and_never_replaced_by_none(
    remotes: RemoteService, stand_in: StandIn
) -> None:
    remotes.add("box", stand_in.url, API_KEY)
    forget_api_key("box")  # the keyring lost it (another keyring, a reset)
    fresh = RemoteService(app_paths().remotes_file)
    sent = len(stand_in.log)
    try:
        with pytest.raises(RemoteKeyMissing, match="The API key of box is not in this system"):
            fresh.model(MODEL_ID)
        status = fresh.status("box")
        assert (status.problem, status.reachable) == ("no_key", False)
        assert len(stand_in.log) == sent  # nothing went without the key
        save_api_key("box", API_KEY)  # nothing was kept of the failed tries
        assert answer(fresh, (ChatMessage("user", "Hi"),)) == "Hello,"
    finally:
        fresh.close()


def test_a_keyring_that_cannot_be_read_is_said(
    remotes: RemoteService, stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    remotes.add("box", stand_in.url, API_KEY)
    fresh = RemoteService(app_paths().remotes_file)
    monkeypatch.setattr(keyring.core, "_keyring_backend", NoKeyring())  # locked, or none
    try:
        with pytest.raises(SecretStoreUnavailable, match="keyring, where the API key of box"):
            fresh.model(MODEL_ID)
    finally:
        fresh.close()


def test_paths_beside_the_api_a_gateway_refuses_are_not_offered(
    remotes: RemoteService, stand_in: StandIn
) -> None:
    """/v1/models takes the key; llama-server's /props and /tokenize answer 403 to it."""
    stand_in.owned_by = "llamacpp"
    stand_in.tokenize = True
    stand_in.forbidden = ("/props", "/tokenize")
    check = remotes.add("box", stand_in.url, API_KEY)
    assert check.server == "llama-server"
    assert check.capabilities.exact_token_counts is not None  # estimates, said so
    assert stand_in.requests_to("/props") and stand_in.requests_to("/tokenize")
    assert answer(remotes, (ChatMessage("user", "Hi"),)) == "Hello,"


def test_a_server_that_stops_answering_is_said_not_to_answer_within_the_status_timeout(
    remotes: RemoteService, stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    remotes.add("box", stand_in.url, API_KEY)
    assert remotes.status("box").latency_s is not None
    # Now at a server that takes the connection and never answers (the kernel accepts it).
    with socket.create_server(("127.0.0.1", 0)) as silent:
        remotes_file = app_paths().remotes_file
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        remotes_file.write_text(remotes_file.read_text().replace(stand_in.url, silent_url))
        monkeypatch.setattr(remotes_module, "STATUS_TIMEOUT_S", 0.5)  # of 5 s, the Remote tab's
        status = remotes.status("box")
    assert (status.latency_s, status.problem) == (None, "unreachable")
    assert status.error is not None and "it sent nothing for 0.5 seconds" in status.error
