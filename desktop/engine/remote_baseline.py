"""`lantern bench`'s baseline for a remote model: the same chat request streamed straight off
the server with httpx2, as a plain script would, without Lantern's stream in between."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2


class RemoteBaseline:
    def __init__(self, base_url: str, api_key: str | None, model: str) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx2.Client(base_url=base_url, headers=headers, timeout=300)
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
        with self._client.stream("POST", "/v1/chat/completions", json=body) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line.startswith("data:") or line.endswith("[DONE]"):
                    continue
                chunk = json.loads(line[5:])
                usage = chunk.get("usage") or usage
                choices = chunk.get("choices") or [{}]
                if choices[0].get("delta", {}).get("content"):
                    first_at = first_at or time.perf_counter()
                    chunks += 1
        ended = time.perf_counter()
        return {
            "started": started,
            "first_at": first_at or ended,
            "ended": ended,
            "prompt_tokens": usage.get("prompt_tokens", 0),
            "generated_tokens": usage.get("completion_tokens", chunks),
        }

    def close(self) -> None:
        self._client.close()
