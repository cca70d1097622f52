"""POST /v1/embeddings: a vector per text, by an installed embedding model, as floats or as
base64 of little-endian float32 (what the official clients ask for by default)."""

from __future__ import annotations

import base64
from typing import Any

import anyio
import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from desktop.errors import ApiRequestInvalid
from desktop.server.request_bodies import EmbeddingBody, read_body
from desktop.server.request_logging import notes_of
from desktop.server.streaming import cancelled_if_client_leaves, run_in_thread
from desktop.services.serving import ServingService


class EmbeddingRoutes:
    def __init__(self, service: ServingService) -> None:
        self.service = service

    def routes(self) -> list[Route]:
        return [Route("/v1/embeddings", self.embed, methods=["POST"])]

    async def embed(self, request: Request) -> Response:
        body = read_body(EmbeddingBody, await request.body())
        texts = body.texts()
        notes = notes_of(request)
        notes.model = body.model
        embedding = await anyio.to_thread.run_sync(self.service.embedding, body.model, texts)
        async with cancelled_if_client_leaves(request.receive, embedding.cancel):
            embedded = await run_in_thread(embedding.run, embedding.cancel, "api-embedding")
        notes.usage = embedded.usage
        size = embedded.vectors.shape[1]
        if body.dimensions is not None and body.dimensions != size:
            raise ApiRequestInvalid(
                f"dimensions: {body.model} makes vectors of {size} dimensions, not "
                f"{body.dimensions}.",
                "dimensions",
            )
        data = [
            {"object": "embedding", "index": index, "embedding": _vector(row, body.encoding_format)}
            for index, row in enumerate(embedded.vectors)
        ]
        tokens = embedded.usage.prompt_tokens
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": body.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


def _vector(row: np.ndarray[Any, Any], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(row.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in row]
