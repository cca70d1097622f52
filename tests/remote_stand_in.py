"""A small OpenAI-compatible server on 127.0.0.1 (Starlette on uvicorn, in a thread) that does
on purpose what llama-cpp-python's real server cannot be made to do: be busy (429 with
Retry-After, 503), fail (500, or an error in the middle of the stream, in the shapes servers
send it), not know the model (404), drop the connection in the middle of an answer, stall
until told to go on, end an answer for a reason that is not a normal end (vLLM's "abort"),
stream the events a client must pass over (keep-alives, "error": null), refuse paths beside
the API to a good key (a gateway's 403), or serve https with a certificate no system trusts
(`tls=True`: trustme's own CA). With `tokenize=True` it has llama-server's /tokenize (a
token per word).

A test queues the faults it wants, one per generation request, in order; a request with none
queued (or an "answer" fault) streams a short answer. Every request is logged with its body
and when it came."""

from __future__ import annotations

import contextlib
import json
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

API_KEY = "stand-in-key"
MODEL = "stand-in-model"
ANSWER = ("Hello", ",", " world", "!", " How", " are", " you", "?")

FaultKind = Literal[
    "answer",  # none: the short answer
    "busy",
    "unavailable",
    "server_error",
    "not_found",
    "drop",
    "stall",
    "error",  # {"error": {"message": ..., "code": 500}} in the stream
    "bare_error",  # {"error": {"code": 500}}: no message
    "error_event",  # an `event: error` whose data is {"message": ...}
    "cut",  # a chunk with finish_reason `finish_reason`, then [DONE]
    "keepalive",  # events with no data (retry:, event:, an empty data:) before each piece
    "null_error",  # "error": null in every chunk
]
_GENERATION_PATHS = ("/v1/chat/completions", "/v1/completions")


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    retry_after: str | None = None  # the busy statuses' Retry-After header
    after_pieces: int = 2  # drop, stall, the errors, cut: after this many pieces of the answer
    finish_reason: str = "abort"  # cut's


@dataclass(frozen=True)
class Seen:
    path: str
    body: dict[str, Any]
    at: float  # time.monotonic()


@dataclass
class StandIn:
    context_length: int | None = None  # what /v1/models states; None: nothing
    faults: deque[Fault] = field(default_factory=deque)
    log: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # ends a stall
    tls: bool = False
    moved_to: str | None = None  # answer every request with a redirect there
    owned_by: Any = "lantern-tests"  # its model's, at /v1/models ("llamacpp": llama-server's)
    tokenize: bool = False  # llama-server's /tokenize answers
    forbidden: tuple[str, ...] = ()  # paths that answer 403 even to the right key

    def __post_init__(self) -> None:
        self._ready = threading.Event()
        self._certificate: Any = None
        if self.tls:  # the key and the chain of a certificate from a CA no system trusts
            self._certificate = tempfile.NamedTemporaryFile(suffix=".pem")  # noqa: SIM115
            issued = trustme.CA().issue_cert("127.0.0.1")
            self._certificate.write(issued.private_key_and_cert_chain_pem.bytes())
            self._certificate.flush()
        app = Starlette(
            routes=[
                Route("/v1/models", self._models),
                Route("/v1/chat/completions", self._generate, methods=["POST"]),
                Route("/v1/completions", self._generate, methods=["POST"]),
                Route("/tokenize", self._tokenize, methods=["POST"]),
                Route("/props", self._props),
            ],
            lifespan=self._lifespan,
        )
        config = uvicorn.Config(
            app,
            log_level="critical",
            lifespan="on",
            ssl_certfile=self._certificate.name if self._certificate else None,
        )
        self._server = uvicorn.Server(config)
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._socket.getsockname()[1]}"
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> StandIn:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the stand-in server did not start")
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.should_exit = True
        self._thread.join(30)
        self._socket.close()
        if self._certificate is not None:
            self._certificate.close()

    def generation_requests(self) -> list[Seen]:
        return [seen for seen in self.log if seen.path in _GENERATION_PATHS]

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.log if seen.path == path]

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._ready.set()
        yield

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return JSONResponse({"error": {"message": "Invalid API key"}}, 401)
        if request.url.path in self.forbidden:
            return JSONResponse({"error": {"message": "Forbidden"}}, 403)
        return None

    async def _models(self, request: Request) -> Response:
        self.log.append(Seen(request.url.path, {}, time.monotonic()))
        if self.moved_to is not None:
            return Response(status_code=308, headers={"Location": self.moved_to})
        entry: dict[str, Any] = {"id": MODEL, "object": "model", "owned_by": self.owned_by}
        if self.context_length is not None:
            entry["context_length"] = self.context_length
        return self._refused(request) or JSONResponse({"object": "list", "data": [entry]})

    async def _tokenize(self, request: Request) -> Response:
        body = await request.json()
        self.log.append(Seen(request.url.path, body, time.monotonic()))
        if not self.tokenize:
            return self._refused(request) or JSONResponse({"detail": "Not Found"}, 404)
        words = str(body.get("content", "")).split()
        return self._refused(request) or JSONResponse({"tokens": list(range(1, len(words) + 1))})

    async def _props(self, request: Request) -> Response:
        self.log.append(Seen(request.url.path, {}, time.monotonic()))
        return self._refused(request) or JSONResponse({"detail": "Not Found"}, 404)

    async def _generate(self, request: Request) -> Response:
        body = await request.json()
        self.log.append(Seen(request.url.path, body, time.monotonic()))
        refused = self._refused(request)
        if refused is not None:
            return refused
        fault = self.faults.popleft() if self.faults else None
        if fault is not None and fault.kind in ("busy", "unavailable"):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            status = 429 if fault.kind == "busy" else 503
            return JSONResponse({"error": {"message": "Too many requests"}}, status, headers)
        if fault is not None and fault.kind == "server_error":
            return JSONResponse({"error": {"message": "CUDA error: out of memory"}}, 500)
        if fault is not None and fault.kind == "not_found":
            message = f"The model `{body.get('model')}` does not exist."
            return JSONResponse({"error": {"message": message}}, 404)
        chat = request.url.path.endswith("/chat/completions")
        return StreamingResponse(self._answer(body, chat, fault), media_type="text/event-stream")

    async def _answer(self, body: dict[str, Any], chat: bool, fault: Fault | None) -> Any:
        kind = fault.kind if fault is not None else "answer"
        for index, piece in enumerate(_pieces(body)):
            if fault is not None and index == fault.after_pieces:
                if kind == "drop":
                    raise ConnectionAbortedError("the stand-in drops the connection")
                if kind in _STREAMED_ERRORS:
                    yield _STREAMED_ERRORS[kind]
                    return
                if kind == "cut":
                    yield _event(_chunk("", fault.finish_reason, chat))
                    yield "data: [DONE]\n\n"
                    return
                if kind == "stall":
                    await anyio.to_thread.run_sync(self.release.wait)
            if kind == "keepalive":
                yield "retry: 3000\n\nevent: ping\n\ndata:\n\nid: 7\n\n"
            chunk = _chunk(piece, None, chat)
            yield _event({**chunk, "error": None} if kind == "null_error" else chunk)
        yield _event(_chunk("", "stop", chat))
        if (body.get("stream_options") or {}).get("include_usage"):
            count = len(list(_pieces(body)))
            usage = {"prompt_tokens": 11, "completion_tokens": count, "total_tokens": 11 + count}
            yield _event({"object": "chat.completion.chunk", "choices": [], "usage": usage})
        yield "data: [DONE]\n\n"


def _pieces(body: dict[str, Any]) -> Iterator[str]:
    limit = body.get("max_tokens") or len(ANSWER)
    yield from ANSWER[:limit]


def _chunk(text: str, finish_reason: str | None, chat: bool) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish_reason}
    if chat:
        choice["delta"] = {"content": text} if text else {}
    else:
        choice["text"] = text
    return {"object": "chat.completion.chunk", "model": MODEL, "choices": [choice]}


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data)}\n\n"


_STREAMED_ERRORS = {
    "error": _event({"error": {"message": "the slot\n  was lost", "code": 500}}),
    "bare_error": _event({"error": {"code": 500}}),
    "error_event": 'event: error\ndata: {"message": "the server is overloaded"}\n\n',
}
