"""The HTTP side of a remote engine: one connection pool per OpenAI-compatible server
(httpx2: TLS verified, timeouts on connecting and between bytes, none on a whole answer), the
API key as a bearer token, and what a server's answer or silence means for the user, as a
typed error (desktop/errors.py).

A busy server (HTTP 429 or 503) is asked again before anything else happens, waiting as its
Retry-After says (up to a cap) or backing off, a bounded number of times; a wait ends at once
when the request is cancelled. Nothing is retried once an answer has started to stream.

A connection the service closed (its remote removed or changed, Lantern closing) says so as
a RemoteClosed error to whoever still holds it (a summary's lease).
"""

from __future__ import annotations

import email.utils
import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2

from desktop.errors import (
    LanternError,
    RemoteAccessDenied,
    RemoteApiNotFound,
    RemoteBusy,
    RemoteClosed,
    RemoteModelNotFound,
    RemoteServerError,
    RemoteUnreachable,
)
from desktop.models.remotes import checked_api_key

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
# Silence allowed between two bytes. A long prompt on a big, busy model may take minutes
# before its first token, and most servers send nothing meanwhile.
READ_TIMEOUT_S = 300.0
BUSY_STATUSES = (429, 503)
BUSY_RETRIES = 4  # asks after the first, while the server says it is busy
BACKOFF_S = (1.0, 2.0, 4.0, 8.0)  # waits before each of them, when the server names none
RETRY_AFTER_CAP_S = 30.0  # the longest wait a server's Retry-After gets
DETAIL_CHARS = 300  # of a server's error message, quoted to the user


class ServerConnection:
    """Requests to one server. Thread-safe: streams and calls may run side by side."""

    def __init__(
        self,
        name: str,
        base_url: str,
        api_key: str | None,
        *,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
        busy_retries: int = BUSY_RETRIES,
        retry_after_cap_s: float = RETRY_AFTER_CAP_S,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.busy_retries = busy_retries
        self.retry_after_cap_s = retry_after_cap_s
        # A key a header cannot carry is refused here, before anything is sent.
        headers = {"Authorization": f"Bearer {checked_api_key(api_key)}"} if api_key else {}
        self._client = httpx2.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx2.Timeout(
                connect=connect_timeout_s,
                read=read_timeout_s,
                write=read_timeout_s,
                pool=None,  # waiting for a free connection is waiting for our own requests
            ),
            verify=True,
            follow_redirects=False,
        )
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self._client.close()

    def get_json(self, path: str) -> Any:
        with self.open("GET", path) as response:
            return self._json(response)

    def post_json(self, path: str, body: dict[str, Any], *, model: str | None = None) -> Any:
        with self.open("POST", path, body, model=model) as response:
            return self._json(response)

    @contextmanager
    def open(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        model: str | None = None,
        cancelled: threading.Event | None = None,
    ) -> Iterator[httpx2.Response | None]:
        """The server's answer, unread (stream it), once it is a success; a typed error
        otherwise. None when `cancelled` is set while waiting on a busy server."""
        response = self._send(method, path, body, model, cancelled or threading.Event())
        try:
            yield response
        finally:
            if response is not None:
                response.close()

    def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        model: str | None,
        cancelled: threading.Event,
    ) -> httpx2.Response | None:
        started = time.monotonic()
        for attempt in itertools.count():
            if self._closed:
                raise self._closed_error()
            request = self._client.build_request(method, path, json=body)
            try:
                response = self._client.send(request, stream=True)
            except httpx2.TransportError as exc:
                raise self.unreachable(exc) from exc
            except RuntimeError as exc:  # httpx2's word for a client closed meanwhile
                if self._closed:
                    raise self._closed_error() from exc
                raise
            if response.status_code in BUSY_STATUSES and attempt < self.busy_retries:
                delay = self._retry_delay(response, attempt)
                response.close()
                log.info("%s is busy (%s); asking again in %.1f s", self.name, path, delay)
                if cancelled.wait(delay):
                    return None
                continue
            if response.is_redirect:  # never followed: the key would go along
                response.close()
                raise RemoteServerError(
                    f"The server {self.name} sends its requests on to "
                    f"{one_line(response.headers.get('location', 'another address'))}: add "
                    "the remote with that address instead."
                )
            if response.is_error:
                try:
                    detail = _error_detail(response)
                finally:
                    response.close()
                tries = attempt + 1
                raise self._status_error(response.status_code, detail, path, model, tries, started)
            return response
        raise AssertionError("unreachable")  # the loop returns or raises

    def _retry_delay(self, response: httpx2.Response, attempt: int) -> float:
        said = _retry_after_s(response.headers.get("retry-after"))
        wait = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)] if said is None else said
        return min(max(wait, 0.0), self.retry_after_cap_s)

    def _json(self, response: httpx2.Response | None) -> Any:
        assert response is not None  # nothing cancels these calls
        try:
            response.read()
            return response.json()
        except httpx2.TransportError as exc:
            raise self.unreachable(exc) from exc
        except ValueError as exc:
            raise RemoteServerError(
                f"The server {self.name} answered {response.request.url.path} with something "
                "that is not JSON: it may not be an OpenAI-compatible server."
            ) from exc

    # ---- what went wrong, for the user ----

    def _closed_error(self) -> RemoteClosed:
        return RemoteClosed(
            f"The connection to the server {self.name} was closed: the remote was removed or "
            "changed meanwhile, or Lantern is closing. Try again."
        )

    def unreachable(self, exc: httpx2.TransportError) -> RemoteUnreachable:
        return RemoteUnreachable(
            f"Cannot reach the server {self.name} at {self.base_url}: {self._why(exc)}."
        )

    def _why(self, exc: httpx2.TransportError) -> str:
        text = str(exc) or type(exc).__name__
        lowered = text.lower()
        if "certificate" in lowered:
            return (
                "its TLS certificate could not be verified, so Lantern did not send the key "
                f"({one_line(text)})"
            )
        if "ssl" in lowered or "tls" in lowered:
            return (
                "the secure (TLS) connection failed; if the server speaks plain http, give "
                f"its URL with http:// ({one_line(text)})"
            )
        if isinstance(exc, httpx2.ConnectTimeout):
            return f"no connection within {self.connect_timeout_s:g} seconds"
        if isinstance(exc, httpx2.TimeoutException):
            return f"it sent nothing for {self.read_timeout_s:g} seconds"
        if any(word in lowered for word in ("name or service", "nodename", "getaddrinfo")):
            return "that host name is unknown (check the URL, or this computer's network)"
        if "refused" in lowered:
            return "nothing answers at that address and port (is the server running?)"
        return one_line(text)

    def _status_error(
        self, status: int, detail: str, path: str, model: str | None, tries: int, started: float
    ) -> LanternError:
        said = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
        if status in (401, 403):
            return RemoteAccessDenied(f"The server {self.name} refused the API key ({said}).")
        if status == 404 and model:
            return RemoteModelNotFound(f"The server {self.name} has no model {model!r} ({said}).")
        if status == 404:
            return RemoteApiNotFound(
                f"The server {self.name} has nothing at {self.base_url}{path} ({said}). Check "
                "the URL: the server's address without /v1 and what follows it (http://HOST:"
                "PORT for http://HOST:PORT/v1/models), with any path a proxy puts before /v1."
            )
        if status in BUSY_STATUSES:
            waited = time.monotonic() - started
            return RemoteBusy(
                f"The server {self.name} is busy ({said}), and still was after {tries} tries "
                f"over {waited:.0f} seconds. Try again in a while."
            )
        verb = "refused" if status < 500 else "failed"
        return RemoteServerError(f"The server {self.name} {verb} the request ({said}).")


def _retry_after_s(value: str | None) -> float | None:
    """Retry-After as seconds: a number of them, or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def _error_detail(response: httpx2.Response) -> str:
    """What the server said went wrong, from the shapes OpenAI-compatible servers use."""
    try:
        response.read()
        data = response.json()
    except (httpx2.TransportError, ValueError):
        try:
            return one_line(response.text)
        except (httpx2.TransportError, ValueError):
            return ""
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            said = data.get(key)
            if isinstance(said, dict):
                said = said.get("message")
            if isinstance(said, str) and said:
                return one_line(said)
    return one_line(json.dumps(data))


def one_line(text: str) -> str:
    """A server's words, shown to the user: one line, printable, not too long."""
    words = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return words if len(words) <= DETAIL_CHARS else words[: DETAIL_CHARS - 1] + "…"
