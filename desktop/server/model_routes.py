"""GET /v1/models and GET /v1/models/{id}: every installed model, chat and embedding models
alike, by its Lantern id."""

from __future__ import annotations

from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from desktop.errors import ModelNotFound
from desktop.services.serving import ApiModel, ServingService

OWNER = "lantern"


class ModelRoutes:
    def __init__(self, service: ServingService) -> None:
        self.service = service

    def routes(self) -> list[Route]:
        return [
            Route("/v1/models", self.list_models, methods=["GET"]),
            # A model's id may hold slashes: owner/repository/file.
            Route("/v1/models/{model_id:path}", self.one_model, methods=["GET"]),
        ]

    async def list_models(self, request: Request) -> Response:
        models = await anyio.to_thread.run_sync(self.service.models)
        return JSONResponse({"object": "list", "data": [_model_json(m) for m in models]})

    async def one_model(self, request: Request) -> Response:
        wanted = request.path_params["model_id"]
        models = await anyio.to_thread.run_sync(self.service.models)
        found = next((m for m in models if m.id == wanted), None)
        if found is None:
            raise ModelNotFound(f"No installed model is called '{wanted}'.")
        return JSONResponse(_model_json(found))


def _model_json(model: ApiModel) -> dict[str, Any]:
    return {"id": model.id, "object": "model", "created": model.created, "owned_by": OWNER}
