"""`lantern serve`'s API started for real on 127.0.0.1 (a free port) over a whole Lantern,
and the clients that talk to it: the official `openai` ones, and plain HTTP."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx2
import openai

from desktop.models.installed import InstalledModel
from desktop.server.options import ServerOptions
from desktop.server.runner import ServerHandle
from desktop.services.app import Lantern
from desktop.services.request_log import RequestLogEntry
from desktop.services.serving import ServingService

# The one web page allowed to call the test server from a browser.
LISTED_ORIGIN = "http://localhost:3000"
# Small, so that a body past it is quick to send.
BODY_LIMIT = 64 * 1024
# Generous: the tests run beside others on 2 cores.
CLIENT_TIMEOUT_S = 240


@dataclass
class Served:
    lantern: Lantern
    server: ServerHandle
    model: str  # the starter model's id

    @property
    def service(self) -> ServingService:
        return self.server.service

    @property
    def key(self) -> str:
        return self.service.keys.current()

    def client(self) -> openai.OpenAI:
        """The official client, retrying nothing: each test sees each answer."""
        return openai.OpenAI(
            base_url=self.server.url, api_key=self.key, max_retries=0, timeout=CLIENT_TIMEOUT_S
        )

    def async_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=self.server.url, api_key=self.key, max_retries=0, timeout=CLIENT_TIMEOUT_S
        )

    def http(self, **headers: str) -> httpx2.Client:
        """A plain HTTP client with the key (unless `headers` say otherwise)."""
        return httpx2.Client(
            base_url=f"http://127.0.0.1:{self.server.port}",
            headers={"Authorization": f"Bearer {self.key}", **headers},
            timeout=CLIENT_TIMEOUT_S,
        )

    def logged(self, count: int) -> list[RequestLogEntry]:
        """The request log once it holds `count` entries: a request is logged just after its
        answer is sent, so a client may have it first."""
        recorded = threading.Condition()

        def heard(entry: RequestLogEntry) -> None:
            with recorded:
                recorded.notify_all()

        log = self.service.log
        stop = log.subscribe(heard)
        try:
            with recorded:
                assert recorded.wait_for(lambda: len(log.entries()) >= count, CLIENT_TIMEOUT_S)
        finally:
            stop()
        return log.entries()

    def chat(self, text: str, **fields: Any) -> dict[str, Any]:
        """A chat request's JSON body to the starter model."""
        return {"model": self.model, "messages": [{"role": "user", "content": text}], **fields}


def serve(lantern: Lantern, service: ServingService, model: InstalledModel) -> Served:
    options = ServerOptions(port=0, cors_origins=(LISTED_ORIGIN,), max_body_bytes=BODY_LIMIT)
    return Served(lantern, ServerHandle(service, options).start(), model.id)
