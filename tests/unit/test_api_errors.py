"""Lantern's errors as the API answers them (desktop/server/api_errors.py): OpenAI's shape,
the status a client acts on, and nothing of this computer's (a log file's path) sent."""

from __future__ import annotations

import json

import pytest

from desktop.errors import (
    ApiRequestInvalid,
    ContextOverflow,
    EngineCrashed,
    EngineUnresponsive,
    InvalidConstraint,
    LanternError,
    ModelNotInstalled,
    NoModelLoaded,
    NotEnoughMemory,
    ServerBusy,
    ToolsUnsupported,
)
from desktop.server.api_errors import ApiError, api_error_for


@pytest.mark.parametrize(
    ("error", "status", "kind", "param", "code"),
    [
        (ServerBusy("Busy.", 7), 429, "rate_limit_error", None, "server_busy"),
        (
            ModelNotInstalled("No model x."),
            404,
            "invalid_request_error",
            "model",
            "model_not_found",
        ),
        (
            ApiRequestInvalid("top_p: no.", "top_p"),
            400,
            "invalid_request_error",
            "top_p",
            "invalid_value",
        ),
        (
            ToolsUnsupported("No tools.", "tools"),
            400,
            "invalid_request_error",
            "tools",
            "tools_unsupported",
        ),
        (
            ContextOverflow("Too long."),
            400,
            "invalid_request_error",
            "messages",
            "context_length_exceeded",
        ),
        (
            InvalidConstraint("Bad schema."),
            400,
            "invalid_request_error",
            "response_format",
            "invalid_schema",
        ),
        (NotEnoughMemory("Too big."), 503, "server_error", None, "not_enough_memory"),
        (
            EngineCrashed("Died. Details: /home/me/engine.log"),
            503,
            "server_error",
            None,
            "engine_stopped",
        ),
        (EngineUnresponsive("Ended. Details: /x"), 503, "server_error", None, "engine_stopped"),
        (NoModelLoaded("No model is loaded."), 500, "server_error", None, "engine_error"),
    ],
)
def test_each_error_has_its_status_and_openais_shape(
    error: LanternError, status: int, kind: str, param: str | None, code: str
) -> None:
    answer = api_error_for(error)
    assert (answer.status, answer.type, answer.param, answer.code) == (status, kind, param, code)
    body = json.loads(answer.response().body)
    assert body == {
        "error": {"message": answer.message, "type": kind, "param": param, "code": code}
    }
    assert ".log" not in answer.message


def test_a_busy_server_says_when_to_try_again() -> None:
    response = api_error_for(ServerBusy("Busy.", 7)).response()
    assert response.status_code == 429 and response.headers["retry-after"] == "7"


def test_an_error_answer_is_json() -> None:
    response = ApiError(413, "Too large.", code="request_too_large").response()
    assert response.headers["content-type"] == "application/json"
