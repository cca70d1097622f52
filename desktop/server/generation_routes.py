"""POST /v1/chat/completions and POST /v1/completions: the answer whole, or streamed as
server-sent events (sse-starlette) that end with `data: [DONE]`.

The answer is awaited up to its first piece before anything is sent, so that what fails
before it (the queue is full, the model's template takes no tools, the chat does not fit,
the engine died loading the model) gets a status of its own. An error after that is sent as
an error event, the status being sent already. A client that hangs up, streaming or not,
cancels its generation at once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from desktop.errors import LanternError
from desktop.server.answer_shapes import (
    AnswerShape,
    ChatShape,
    CompletionShape,
    answer_id,
    answer_json,
    finish_reason_json,
)
from desktop.server.api_errors import api_error_for
from desktop.server.request_bodies import ChatCompletionBody, CompletionBody, read_body
from desktop.server.request_logging import RequestNotes, notes_of
from desktop.server.streaming import PieceFeed, cancelled_if_client_leaves
from desktop.services.serving import (
    ApiGeneration,
    ApiPiece,
    GenerationAsk,
    ServingService,
    ToolCall,
)


class GenerationRoutes:
    def __init__(self, service: ServingService) -> None:
        self.service = service

    def routes(self) -> list[Route]:
        return [
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/completions", self.complete, methods=["POST"]),
        ]

    async def chat(self, request: Request) -> Response:
        body = read_body(ChatCompletionBody, await request.body())
        ask = body.ask()
        return await self._answer(
            request, ask, ChatShape(ask.logprobs), stream=body.stream, usage=body.include_usage
        )

    async def complete(self, request: Request) -> Response:
        body = read_body(CompletionBody, await request.body())
        ask = body.ask()
        return await self._answer(
            request,
            ask,
            CompletionShape(ask.logprobs),
            stream=body.stream,
            usage=body.include_usage,
        )

    async def _answer(
        self, request: Request, ask: GenerationAsk, shape: AnswerShape, *, stream: bool, usage: bool
    ) -> Response:
        notes = notes_of(request)
        notes.model = ask.model_id
        generation = await anyio.to_thread.run_sync(self.service.generate, ask)
        notes.generation = generation
        feed = PieceFeed(generation, generation.cancel, "api-generation")
        try:
            async with cancelled_if_client_leaves(request.receive, generation.cancel):
                first = await feed.next()
                pieces = [] if stream or first is None else [first, *[p async for p in feed]]
        except BaseException:
            await feed.aclose()
            raise
        if stream:
            events = _events(feed, first, generation, shape, notes, include_usage=usage)
            return _StreamedAnswer(events, feed)
        text = "".join(piece.text for piece in pieces)
        calls = [piece.tool_call for piece in pieces if piece.tool_call is not None]
        notes.add_answer(text + "".join(_call_note(call) for call in calls))
        tokens = [token for piece in pieces for token in piece.tokens]
        choice = shape.whole(text, tokens, finish_reason_json(generation), calls)
        return JSONResponse(answer_json(shape, answer_id(shape), generation, [choice]))


def _call_note(call: ToolCall) -> str:
    """A call, as the request log shows it among the answer's text."""
    return f"\n[{call.name}({call.arguments})]"


class _StreamedAnswer(EventSourceResponse):
    """The events, and the generation stopped once the response is over, however it ends:
    also when the client left before the events began (the events' own `finally`, which
    stops it the moment the client leaves, then never runs)."""

    def __init__(self, events: AsyncIterator[dict[str, str]], feed: PieceFeed[ApiPiece]) -> None:
        super().__init__(events)
        self._feed = feed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._feed.aclose()


async def _events(
    feed: PieceFeed[ApiPiece],
    first: ApiPiece | None,
    generation: ApiGeneration,
    shape: AnswerShape,
    notes: RequestNotes,
    *,
    include_usage: bool,
) -> AsyncIterator[dict[str, str]]:
    """The answer's chunks as server-sent events; with `include_usage`, a last chunk with
    no choices and the usage (each chunk before it has `usage: null`)."""
    chunk_id = answer_id(shape)

    def chunk(choices: list[dict[str, Any]]) -> dict[str, str]:
        answer = answer_json(shape, chunk_id, generation, choices, chunk=True, usage=include_usage)
        return {"data": json.dumps(answer)}

    try:
        opening = shape.opening()
        if opening is not None:
            yield chunk([opening])
        offset = 0
        piece = first
        while piece is not None:
            notes.add_answer(piece.text if piece.tool_call is None else _call_note(piece.tool_call))
            yield chunk([shape.piece(piece, offset)])
            offset += len(piece.text)
            piece = await feed.next()
        yield chunk([shape.ending(finish_reason_json(generation))])
        if include_usage:
            yield chunk([])
        yield {"data": "[DONE]"}
    except LanternError as exc:  # the status is sent already: an error event, as OpenAI's
        error = api_error_for(exc)
        notes.error = error.message
        yield {"data": json.dumps(error.body())}
    finally:
        await feed.aclose()  # the client left (or the server stops): stop the engine now
