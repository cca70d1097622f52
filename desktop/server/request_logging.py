"""Each request, refused or served, as an entry of the service's request log, once its answer
is over (a streamed one too): who, what, the status, how long; the model, tokens, speed and
how the answer ended from what the route noted. Its text (the request's body and the answer)
only while the log keeps contents. A line without contents goes to Lantern's log file."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desktop.server.security import HttpMiddleware
from desktop.services.request_log import CONTENT_LIMIT_CHARS, RequestLog, RequestLogEntry, clipped
from desktop.services.serving import ApiGeneration, Usage

log = logging.getLogger(__name__)

_NOTES = "lantern.request_notes"  # where a request's notes are in its ASGI scope


@dataclass
class RequestNotes:
    """What a route tells the log about its request."""

    keep_contents: bool
    model: str | None = None
    generation: ApiGeneration | None = None  # read once the answer is over
    usage: Usage | None = None  # for what is not a generation (embeddings)
    answer: list[str] = field(default_factory=list)  # the answer's text, with contents kept
    error: str | None = None  # an error met once the answer had started (its status is sent)

    def add_answer(self, text: str) -> None:
        if self.keep_contents:
            self.answer.append(text)


def notes_of(request: Request) -> RequestNotes:
    notes: RequestNotes = request.scope[_NOTES]
    return notes


class RequestLogging(HttpMiddleware):
    def __init__(self, app: ASGIApp, request_log: RequestLog) -> None:
        super().__init__(app)
        self.request_log = request_log

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        notes = RequestNotes(keep_contents=self.request_log.keep_contents)
        scope[_NOTES] = notes
        at, started = datetime.now(), time.monotonic()
        status = 500  # unless an answer starts
        request_body = bytearray()
        error_body = bytearray()

        async def receiving() -> Message:
            message = await receive()
            if notes.keep_contents and len(request_body) <= CONTENT_LIMIT_CHARS:
                request_body.extend(message.get("body", b"")[: CONTENT_LIMIT_CHARS + 1])
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status >= 400:
                error_body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        finally:
            entry = _entry(scope, notes, at, time.monotonic() - started, status)
            entry = _with_texts(entry, notes, bytes(request_body), bytes(error_body))
            log.info(
                "API %s %s %s: %d in %.2f s",
                entry.client,
                entry.method,
                entry.endpoint,
                entry.status,
                entry.duration_s,
            )
            self.request_log.record(entry)


def _entry(
    scope: Scope, notes: RequestNotes, at: datetime, duration_s: float, status: int
) -> RequestLogEntry:
    client = scope.get("client")
    generation = notes.generation
    usage = generation.usage if generation is not None else notes.usage
    return RequestLogEntry(
        at=at,
        client=f"{client[0]}:{client[1]}" if client else "unknown",
        method=scope["method"],
        endpoint=scope["path"],
        status=status,
        duration_s=duration_s,
        model=notes.model,
        prompt_tokens=usage.prompt_tokens if usage is not None else None,
        completion_tokens=usage.completion_tokens if usage is not None else None,
        tokens_per_s=generation.tokens_per_s if generation is not None else None,
        finish_reason=generation.finish_reason if generation is not None else None,
    )


def _with_texts(
    entry: RequestLogEntry, notes: RequestNotes, request_body: bytes, error_body: bytes
) -> RequestLogEntry:
    """The entry with what the error answer said, and the texts if contents are kept."""
    error = notes.error or (_error_message(error_body) if entry.status >= 400 else None)
    if not notes.keep_contents:
        return replace(entry, error=error)
    return replace(
        entry,
        error=error,
        request_text=clipped(request_body.decode("utf-8", "replace")),
        response_text=clipped("".join(notes.answer)) if notes.answer else None,
    )


def _error_message(body: bytes) -> str | None:
    try:
        said = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return None
    return str(said)[:1000]
