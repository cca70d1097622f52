"""Every security rule of the API, each with a request that must be refused (and one that
passes, so that the refusal is the rule's and not the request's)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
from api_server import BODY_LIMIT, LISTED_ORIGIN, Served

from desktop.errors import ServerOptionInvalid
from desktop.models.installed import InstalledModel
from desktop.server.options import ServerOptions
from desktop.server.runner import ServerHandle
from desktop.services.app import Lantern


def error_of(response: httpx2.Response) -> dict[str, object]:
    """The OpenAI-shaped error of a refusal."""
    error: dict[str, object] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_no_key_or_another_key_is_refused(served: Served) -> None:
    with served.http(Authorization="") as http:
        refused = http.get("/v1/models")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert error_of(refused)["code"] == "invalid_api_key"
    with served.http(Authorization="Bearer lt-not-the-key") as http:
        assert http.get("/v1/models").status_code == 401
        assert http.post("/v1/chat/completions", json=served.chat("Hi")).status_code == 401
    wrong = openai.OpenAI(base_url=served.server.url, api_key="lt-not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    assert served.client().models.list().data  # the right key passes


def test_a_regenerated_key_replaces_the_old_one_at_once(served: Served) -> None:
    old = served.key
    new = served.service.keys.regenerate()
    assert new != old and new.startswith("lt-")
    with served.http(Authorization=f"Bearer {old}") as http:
        assert http.get("/v1/models").status_code == 401
    with served.http(Authorization=f"Bearer {new}") as http:
        assert http.get("/v1/models").status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",  # DNS rebinding: a name of the attacker's, resolved to 127.0.0.1
        "localhost.evil.example:{port}",
        "127.0.0.1.nip.io:{port}",
        "localhost:1",  # the right name, another port
        "",
    ],
)
def test_a_host_that_is_not_this_servers_is_refused(served: Served, host: str) -> None:
    with served.http(Host=host.format(port=served.server.port)) as http:
        refused = http.get("/v1/models")
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "host_not_allowed"


@pytest.mark.parametrize(
    "host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}", "localhost"]
)
def test_the_loopback_names_are_this_servers(served: Served, host: str) -> None:
    with served.http(Host=host.format(port=served.server.port)) as http:
        assert http.get("/v1/models").status_code == 200


def test_an_origin_not_listed_gets_no_cors_headers(served: Served) -> None:
    with served.http(Origin="https://evil.example") as http:
        refused = http.get("/v1/models")
        preflight = http.options(
            "/v1/chat/completions",
            headers={
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
    assert refused.status_code == 403 and error_of(refused)["code"] == "origin_not_allowed"
    for response in (refused, preflight):
        assert not any(name.startswith("access-control-") for name in response.headers)


def test_a_listed_origin_is_echoed_never_a_wildcard(served: Served) -> None:
    with served.http(Origin=LISTED_ORIGIN) as http:
        preflight = http.options(
            "/v1/chat/completions",
            headers={
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        answered = http.get("/v1/models")
        refused = http.get("/v1/models", headers={"Authorization": "Bearer lt-wrong"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == LISTED_ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "authorization, content-type"
    for response in (answered, refused):  # a page reads the refusal too
        assert response.headers["access-control-allow-origin"] == LISTED_ORIGIN
        assert response.headers["vary"] == "Origin"
    assert answered.status_code == 200 and refused.status_code == 401


def test_a_wildcard_origin_is_refused_before_the_server_starts(
    lantern: Lantern, file_keyring: Path
) -> None:
    with pytest.raises(ServerOptionInvalid, match="every web page"):
        ServerHandle(lantern.serving, ServerOptions(port=0, cors_origins=("*",)))
    with pytest.raises(ServerOptionInvalid, match="not an origin"):
        ServerHandle(lantern.serving, ServerOptions(port=0, cors_origins=("localhost:3000/app",)))


def test_a_body_over_the_limit_is_refused_with_413(served: Served) -> None:
    too_big = served.chat("x" * BODY_LIMIT)

    def in_chunks() -> Iterator[bytes]:  # no Content-Length: the bytes are counted
        for _ in range(4):
            yield b"x" * (BODY_LIMIT // 2)

    with served.http() as http:
        declared = http.post("/v1/chat/completions", json=too_big)
        streamed = http.post(
            "/v1/chat/completions",
            content=in_chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert "content-length" not in streamed.request.headers
        assert http.get("/v1/models").status_code == 200  # the server is still up
    for refused in (declared, streamed):
        assert refused.status_code == 413
        assert error_of(refused)["code"] == "request_too_large"
        assert f"{BODY_LIMIT:,} bytes" in str(error_of(refused)["message"])


def test_max_tokens_over_the_ceiling_is_refused(served: Served) -> None:
    ceiling = served.service.max_tokens
    with pytest.raises(openai.BadRequestError) as refused:
        served.client().chat.completions.create(
            model=served.model,
            messages=[{"role": "user", "content": "Hi"}],
            max_tokens=ceiling + 1,
        )
    assert refused.value.status_code == 400
    assert f"{ceiling:,}" in refused.value.message and "ceiling" in refused.value.message
    assert refused.value.param == "max_tokens"


@pytest.mark.parametrize(
    ("body", "param", "said"),
    [
        (b'{"model": "m", "messages": [', None, "not valid JSON"),
        (b"[1, 2]", None, "must be a JSON object"),
        (b'{"messages": [{"role": "user", "content": "Hi"}]}', "model", "model: is required"),
        (b'{"model": "m", "messages": []}', "messages", "at least 1 item"),
        (b'{"model": "m", "messages": "Hi"}', "messages", "valid array"),
        (
            b'{"model": "m", "messages": [{"role": "robot", "content": "Hi"}]}',
            "messages[0].role",
            "messages[0].role: Input should be",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": "Hi"}], "top_p": "hot"}',
            "top_p",
            "top_p: Input should be a valid number",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": "yes"}',
            "stream",
            "stream: Input should be a valid boolean",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}',
            "messages[0].content[0]",
            "text parts only",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stop": 5}',
            "stop",
            "a string or a list of strings",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": "Hi"}], "n": 2}',
            "n",
            "one choice",
        ),
    ],
)
def test_a_malformed_request_gets_400_saying_what_is_wrong(
    served: Served, body: bytes, param: str | None, said: str
) -> None:
    with served.http() as http:
        refused = http.post(
            "/v1/chat/completions", content=body, headers={"Content-Type": "application/json"}
        )
    assert refused.status_code == 400
    error = error_of(refused)
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert said in str(error["message"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("temperature", 9.0), ("top_p", 1.5), ("top_k", -1), ("presence_penalty", 3.0)],
)
def test_a_sampling_setting_out_of_its_range_is_refused(
    served: Served, field: str, value: float
) -> None:
    with served.http() as http:
        refused = http.post("/v1/chat/completions", json=served.chat("Hi", **{field: value}))
    assert refused.status_code == 400
    error = error_of(refused)
    assert error["param"] == field and "must be a" in str(error["message"])


def test_an_unknown_model_is_404(served: Served) -> None:
    with pytest.raises(openai.NotFoundError) as refused:
        served.client().chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "Hi"}]
        )
    assert refused.value.code == "model_not_found" and refused.value.param == "model"
    assert served.model in refused.value.message  # it says which are installed


def test_tools_with_a_template_that_has_no_place_for_them_are_refused(served: Served) -> None:
    tool = {
        "type": "function",
        "function": {"name": "light", "parameters": {"type": "object", "properties": {}}},
    }
    with pytest.raises(openai.BadRequestError) as refused:
        served.client().chat.completions.create(
            model=served.model, messages=[{"role": "user", "content": "Light it."}], tools=[tool]
        )
    assert refused.value.code == "tools_unsupported" and refused.value.param == "tools"
    assert "chat template has no place for them" in refused.value.message


def test_request_contents_are_logged_only_when_asked(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = served.client()
    client.chat.completions.create(
        model=served.model,
        messages=[{"role": "user", "content": "A secret."}],
        max_tokens=4,
        temperature=0,
    )
    served.service.log.keep_contents = True
    client.chat.completions.create(
        model=served.model,
        messages=[{"role": "user", "content": "Not a secret."}],
        max_tokens=4,
        temperature=0,
    )
    quiet, kept = served.logged(2)
    assert quiet.request_text is None and quiet.response_text is None
    assert quiet.prompt_tokens and quiet.completion_tokens and quiet.status == 200
    assert kept.request_text is not None and "Not a secret." in kept.request_text
    assert kept.response_text
    assert "POST /v1/chat/completions: 200" in caplog.text  # the log file's lines
    assert "secret" not in caplog.text


def test_bound_to_every_address_it_still_answers_only_its_own_names(
    lantern: Lantern, installed_starter: InstalledModel, file_keyring: Path
) -> None:
    options = ServerOptions(host="0.0.0.0", port=0)
    assert options.on_network
    with ServerHandle(lantern.serving, options) as server:
        key = lantern.serving.keys.current()
        headers = {"Authorization": f"Bearer {key}"}
        with httpx2.Client(base_url=f"http://127.0.0.1:{server.port}", headers=headers) as http:
            assert http.get("/v1/models").status_code == 200
            for host in ("evil.example", f"evil.example:{server.port}", "0.0.0.0"):
                assert http.get("/v1/models", headers={"Host": host}).status_code == 403
        assert httpx2.get(f"{server.url}/models").status_code == 401  # the key still counts
