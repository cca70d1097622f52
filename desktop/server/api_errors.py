"""Error answers in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, which
every OpenAI client reads, and the status each of Lantern's errors gets."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse

from desktop.errors import (
    ApiRequestInvalid,
    ContextOverflow,
    EngineCrashed,
    InvalidChatTemplate,
    InvalidConstraint,
    LanternError,
    ModelNotFound,
    NotEnoughMemory,
    ServerBusy,
    ToolsUnsupported,
    WaitCancelled,
)

log = logging.getLogger(__name__)

INVALID_REQUEST = "invalid_request_error"
SERVER_ERROR = "server_error"


@dataclass(frozen=True)
class ApiError:
    status: int
    message: str
    type: str = INVALID_REQUEST
    param: str | None = None
    code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), self.status, headers=dict(self.headers))


def api_error_for(error: LanternError) -> ApiError:
    """The answer to a request that `error` ended."""
    message = error.message
    if isinstance(error, ServerBusy):
        retry = {"Retry-After": str(error.retry_after_s)}
        return ApiError(429, message, "rate_limit_error", code="server_busy", headers=retry)
    if isinstance(error, ModelNotFound):
        return ApiError(404, message, param="model", code="model_not_found")
    if isinstance(error, ToolsUnsupported):
        return ApiError(400, message, param=error.param, code="tools_unsupported")
    if isinstance(error, ApiRequestInvalid):
        return ApiError(400, message, param=error.param, code="invalid_value")
    if isinstance(error, ContextOverflow):
        return ApiError(400, message, param="messages", code="context_length_exceeded")
    if isinstance(error, InvalidConstraint):
        return ApiError(400, message, param="response_format", code="invalid_schema")
    if isinstance(error, InvalidChatTemplate):
        return ApiError(400, message, param="messages", code="chat_template_refused")
    if isinstance(error, NotEnoughMemory):
        return ApiError(503, message, SERVER_ERROR, code="not_enough_memory")
    if isinstance(error, EngineCrashed):
        # The engine's own message names a log file of this computer: logged, not sent.
        log.warning("An API request's engine stopped: %s", message)
        return ApiError(
            503,
            "The model engine stopped unexpectedly while answering; the server is still up "
            "and the next request starts the engine again.",
            SERVER_ERROR,
            code="engine_stopped",
        )
    if isinstance(error, WaitCancelled):  # the server is stopping
        return ApiError(503, "The server is stopping.", SERVER_ERROR, code="server_stopping")
    log.warning("An API request failed: %s", message)
    return ApiError(500, message, SERVER_ERROR, code="engine_error")
