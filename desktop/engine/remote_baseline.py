"""`lantern bench`'s baseline for a remote model: the same chat request streamed straight off
the server, as a plain script would, without Lantern's stream in between. The request goes
through a ServerConnection of its own (its errors in words, a busy server asked again, as
for Lantern's own requests); the answer is read line by line, nothing more."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2

from desktop.engine.remote_http import ServerConnection
from desktop.errors import RemoteConnectionLost


class RemoteBaseline:
    """Closes the connection it is given when closed."""

    def __init__(self, connection: ServerConnection, model: str) -> None:
        self._connection = connection
        self._model = model

    def chat(self, messages: list[dict[str, str]], sampling: dict[str, Any]) -> dict[str, Any]:
        """The answer's timings: sent, first text, end; tokens as the server counts them (in
        its last chunk's usage), else one per chunk of text (llama.cpp's servers send one)."""
        body = {
            "model": self._model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            **sampling,
        }
        started = time.perf_counter()
        first_at = None
        chunks = 0
        usage: dict[str, int] = {}
        with self._connection.open(
            "POST", "/v1/chat/completions", body, model=self._model
        ) as response:
            assert response is not None  # nothing cancels it
            try:
                for line in response.iter_lines():
                    chunk = _chunk(line)
                    usage = chunk.get("usage") or usage
                    if _text(chunk):
                        first_at = first_at or time.perf_counter()
                        chunks += 1
            except httpx2.TransportError as exc:
                raise RemoteConnectionLost(
                    f"The connection to the server {self._connection.name} dropped in the "
                    f"middle of the baseline's answer ({exc or type(exc).__name__})."
                ) from exc
        ended = time.perf_counter()
        return {
            "started": started,
            "first_at": first_at or ended,
            "ended": ended,
            "prompt_tokens": usage.get("prompt_tokens", 0),
            "generated_tokens": usage.get("completion_tokens", chunks),
        }

    def close(self) -> None:
        self._connection.close()


def _chunk(line: str) -> dict[str, Any]:
    """A `data:` line's chunk; {} for any other line, [DONE], or what is not a chunk."""
    if not line.startswith("data:") or line.endswith("[DONE]"):
        return {}
    try:
        chunk = json.loads(line[5:])
    except ValueError:
        return {}
    return chunk if isinstance(chunk, dict) else {}


def _text(chunk: dict[str, Any]) -> bool:
    choices = chunk.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    delta = first.get("delta") if isinstance(first, dict) else None
    return isinstance(delta, dict) and bool(delta.get("content"))
