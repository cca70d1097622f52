"""The refusals every request meets before any route runs, as pure ASGI middleware, outermost
first: a body larger than the limit (413), a Host that is not this server's (403), an Origin
that is not listed (403, no CORS headers), no API key or another one (401).

What the peers got wrong, and this does not: GPT4All answers any web page (CORS `*`, no key);
Jan bound to 0.0.0.0 made its Host check a wildcard and reflected any Origin; Ollama could be
reached by DNS rebinding (CVE-2024-28224); llama-cpp-python's server takes any Host, reflects
any Origin and answers a 20 MB body with a 500.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desktop.server.api_errors import ApiError
from desktop.server.hosts import host_allowed, origin_of

PERMISSION_ERROR = "permission_error"
# The methods and how long a browser may keep a preflight's answer.
CORS_METHODS = "GET, POST, OPTIONS"
CORS_MAX_AGE_S = "600"
_HEADER_LIST = re.compile(r"[A-Za-z0-9_, -]*")  # what Access-Control-Request-Headers may hold


class HttpMiddleware:
    """Pure ASGI middleware over HTTP requests (`handle`); anything else passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (`name` in lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class BodySizeLimit(HttpMiddleware):
    """A body over `max_bytes` gets 413: at once by its Content-Length, or as soon as the
    bytes streamed without one pass the limit. The body, read whole, is handed on."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before it sent its request
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        given = False

        async def replay() -> Message:
            nonlocal given
            if given:  # later: whether the client leaves
                return await receive()
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = ApiError(
            413,
            f"The request body is larger than this server takes ({self.max_bytes:,} bytes).",
            code="request_too_large",
        )
        await error.response()(scope, receive, send)


class HostAllowList(HttpMiddleware):
    """Only requests that name this server in their Host header: DNS rebinding gives a web
    page this computer's address, never this server's name."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str], port: int) -> None:
        super().__init__(app)
        self.allowed = allowed
        self.port = port

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = header(scope, b"host")
        if host is not None and host_allowed(host, self.allowed, self.port):
            await self.app(scope, receive, send)
            return
        error = ApiError(
            403,
            f"This server answers requests addressed to its own name only, and the Host "
            f"{(host or '')[:100]!r} is not one of them. Use http://127.0.0.1:{self.port}, "
            "or add the name to the server's allowed hosts.",
            PERMISSION_ERROR,
            code="host_not_allowed",
        )
        await error.response()(scope, receive, send)


class CorsAllowList(HttpMiddleware):
    """Browsers' cross-origin calls, from the listed origins only: the origin itself is
    echoed, never `*`. A request from any other origin is refused, with no CORS headers (so
    that a page cannot even read the refusal)."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        super().__init__(app)
        self.origins = frozenset(origins)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = header(scope, b"origin")
        if given is None:  # not a browser's cross-origin call
            await self.app(scope, receive, send)
            return
        origin = origin_of(given)
        if origin is None or origin not in self.origins:
            error = ApiError(
                403,
                f"Web pages from {given[:100]!r} may not use this server: it is not among "
                "the origins the server allows.",
                PERMISSION_ERROR,
                code="origin_not_allowed",
            )
            await error.response()(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and header(scope, b"access-control-request-method"):
            await self._preflight(origin, scope, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-expose-headers", b"Retry-After"),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, origin: str, scope: Scope, send: Send) -> None:
        asked = header(scope, b"access-control-request-headers") or ""
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", CORS_METHODS.encode()),
            (b"access-control-max-age", CORS_MAX_AGE_S.encode()),
            (b"vary", b"Origin"),
        ]
        if asked and _HEADER_LIST.fullmatch(asked):  # the key still decides
            headers.append((b"access-control-allow-headers", asked.encode("latin-1")))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


class ApiKeyRequired(HttpMiddleware):
    """Every request carries the key, `Authorization: Bearer KEY` (compared in constant
    time). `key()` gives the key now: the window may make a new one while serving."""

    def __init__(self, app: ASGIApp, key: Callable[[], str]) -> None:
        super().__init__(app)
        self.key = key

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scheme, _, given = (header(scope, b"authorization") or "").strip().partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("latin-1"), self.key().encode()
        ):
            await self.app(scope, receive, send)
            return
        message = (
            "The API key is not this server's (it may have been made anew)."
            if given
            else "This server needs its API key, sent as `Authorization: Bearer KEY`; Lantern "
            "shows it, and `lantern serve` prints it."
        )
        error = ApiError(
            401, message, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"}
        )
        await error.response()(scope, receive, send)
