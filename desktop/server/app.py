"""The API as one ASGI app: the routes, behind the security middleware, every request logged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from desktop.errors import LanternError
from desktop.server.api_errors import SERVER_ERROR, ApiError, api_error_for
from desktop.server.embedding_routes import EmbeddingRoutes
from desktop.server.generation_routes import GenerationRoutes
from desktop.server.hosts import allowed_hosts
from desktop.server.model_routes import ModelRoutes
from desktop.server.options import ServerOptions
from desktop.server.request_logging import RequestLogging
from desktop.server.security import ApiKeyRequired, BodySizeLimit, CorsAllowList, HostAllowList
from desktop.services.serving import ServingService

log = logging.getLogger(__name__)


def create_app(
    service: ServingService,
    options: ServerOptions,
    api_key: Callable[[], str],
    *,
    machine_addresses: Iterable[str] = (),
) -> Starlette:
    """The app for a server bound to `options.host` and `options.port` (the port it really
    has); `api_key()` gives the key each request must carry; `machine_addresses` are this
    computer's, answered to as Host names when bound to every address."""
    hosts = allowed_hosts(options.host, machine_addresses, options.allowed_hosts)
    return Starlette(
        routes=[
            *ModelRoutes(service).routes(),
            *GenerationRoutes(service).routes(),
            *EmbeddingRoutes(service).routes(),
        ],
        middleware=[  # outermost first
            Middleware(RequestLogging, request_log=service.log),
            Middleware(BodySizeLimit, max_bytes=options.max_body_bytes),
            Middleware(HostAllowList, allowed=hosts, port=options.port),
            Middleware(CorsAllowList, origins=options.cors_origins),
            Middleware(ApiKeyRequired, key=api_key),
        ],
        exception_handlers={
            LanternError: _lantern_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )


async def _lantern_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LanternError)
    return api_error_for(exc).response()


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own: a path the API does not have (404), a method it does not take (405)."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    return ApiError(exc.status_code, str(exc.detail), code=code).response()


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("API request %s failed", request.url.path, exc_info=exc)
    return ApiError(
        500, "The server failed this request; its log says why.", SERVER_ERROR
    ).response()
