"""The JSON of the answers, in OpenAI's shapes: a chat completion and its chunks, a (legacy)
text completion and its chunks, token probabilities in each one's form, usage."""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from desktop.services.serving import (
    ApiGeneration,
    ApiPiece,
    GeneratedToken,
    TokenChoice,
    ToolCall,
    Usage,
)

# A probability too small for a float: what JSON, which has no -Infinity, says instead.
LEAST_LOGPROB = -9999.0


def usage_json(usage: Usage | None) -> dict[str, int]:
    """The usage of an answer; none counted when it never reached the model (stopped while
    it waited its turn: its client has gone)."""
    usage = usage or Usage(0, 0)
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def finish_reason_json(generation: ApiGeneration) -> str:
    """How the answer ended for the client: a generation stopped early (the server stops) is
    an answer that stopped; one that ended after calling tools waits for their results."""
    if generation.finish_reason == "length":
        return "length"
    return "tool_calls" if generation.calls_made else "stop"


class AnswerShape(Protocol):
    """How one endpoint writes its answer: whole, or as chunks while it streams."""

    @property
    def object(self) -> str:
        """The whole answer's `object`."""

    @property
    def chunk_object(self) -> str:
        """Each chunk's `object`."""

    def opening(self) -> dict[str, Any] | None:
        """A chunk's choice before the first piece (the chat's role), if any."""

    def piece(self, piece: ApiPiece, offset: int) -> dict[str, Any]:
        """A chunk's choice for a piece; `offset`: the characters written before it."""

    def ending(self, finish_reason: str) -> dict[str, Any]:
        """The last chunk's choice."""

    def whole(
        self,
        text: str,
        tokens: Sequence[GeneratedToken],
        finish_reason: str,
        tool_calls: Sequence[ToolCall] = (),
    ) -> dict[str, Any]:
        """The choice of an answer that is not streamed."""


@dataclass(frozen=True)
class ChatShape:
    top_logprobs: int | None  # None: no probabilities asked for
    object: str = "chat.completion"
    chunk_object: str = "chat.completion.chunk"

    def opening(self) -> dict[str, Any] | None:
        return _choice(delta={"role": "assistant", "content": ""})

    def piece(self, piece: ApiPiece, offset: int) -> dict[str, Any]:
        # A call comes whole, in one chunk: name and arguments at once, which OpenAI's
        # clients put together as they would pieces of it.
        delta = (
            {"tool_calls": [{"index": piece.call_index, **_call_json(piece.tool_call)}]}
            if piece.tool_call is not None
            else {"content": piece.text}
        )
        return _choice(delta=delta, logprobs=self._logprobs(piece.tokens))

    def ending(self, finish_reason: str) -> dict[str, Any]:
        return _choice(delta={}, finish_reason=finish_reason)

    def whole(
        self,
        text: str,
        tokens: Sequence[GeneratedToken],
        finish_reason: str,
        tool_calls: Sequence[ToolCall] = (),
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if tool_calls:  # OpenAI's: no text beside the calls is null
            message["content"] = text or None
            message["tool_calls"] = [_call_json(call) for call in tool_calls]
        return _choice(
            message=message, logprobs=self._logprobs(tokens), finish_reason=finish_reason
        )

    def _logprobs(self, tokens: Sequence[GeneratedToken]) -> dict[str, Any] | None:
        if self.top_logprobs is None:
            return None
        top = self.top_logprobs
        return {
            "content": [
                {
                    **_token_json(token.choice),
                    "top_logprobs": [_token_json(other) for other in token.alternatives[:top]],
                }
                for token in tokens
            ],
            "refusal": None,
        }


@dataclass(frozen=True)
class CompletionShape:
    logprobs: int | None  # None: no probabilities asked for; k: k alternatives per token
    object: str = "text_completion"
    chunk_object: str = "text_completion"

    def opening(self) -> dict[str, Any] | None:
        return None

    def piece(self, piece: ApiPiece, offset: int) -> dict[str, Any]:
        return _choice(text=piece.text, logprobs=self._logprobs(piece.tokens, offset))

    def ending(self, finish_reason: str) -> dict[str, Any]:
        return _choice(text="", finish_reason=finish_reason)

    def whole(
        self,
        text: str,
        tokens: Sequence[GeneratedToken],
        finish_reason: str,
        tool_calls: Sequence[ToolCall] = (),  # none: a completion offers no tools
    ) -> dict[str, Any]:
        return _choice(text=text, logprobs=self._logprobs(tokens, 0), finish_reason=finish_reason)

    def _logprobs(self, tokens: Sequence[GeneratedToken], offset: int) -> dict[str, Any] | None:
        if self.logprobs is None:
            return None
        offsets = []
        for token in tokens:
            offsets.append(offset)
            offset += len(token.choice.text)
        return {
            "tokens": [token.choice.text for token in tokens],
            "token_logprobs": [_logprob(token.choice.logprob) for token in tokens],
            "top_logprobs": [
                {
                    other.text: _logprob(other.logprob)
                    for other in token.alternatives[: self.logprobs]
                }
                for token in tokens
            ],
            "text_offset": offsets,
        }


def answer_id(shape: AnswerShape) -> str:
    prefix = "chatcmpl-" if shape.object == "chat.completion" else "cmpl-"
    return prefix + secrets.token_hex(12)


def answer_json(
    shape: AnswerShape,
    answer_id: str,
    generation: ApiGeneration,
    choices: list[dict[str, Any]],
    *,
    chunk: bool = False,
    usage: bool = True,
) -> dict[str, Any]:
    """An answer, or with `chunk` a chunk of one. A chunk has `usage` only where the client
    asked for it: null, but on the last chunk, which has no choices."""
    answer: dict[str, Any] = {
        "id": answer_id,
        "object": shape.chunk_object if chunk else shape.object,
        "created": generation.created,
        "model": generation.model_id,
        "choices": choices,
    }
    if usage:
        answer["usage"] = usage_json(generation.usage) if not chunk or not choices else None
    return answer


def _choice(**fields: Any) -> dict[str, Any]:
    return {"index": 0, "logprobs": None, "finish_reason": None, **fields}


def _call_json(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def _token_json(choice: TokenChoice) -> dict[str, Any]:
    return {
        "token": choice.text,
        "logprob": _logprob(choice.logprob),
        "bytes": list(choice.text.encode("utf-8")),
    }


def _logprob(value: float) -> float:
    return value if math.isfinite(value) and value > LEAST_LOGPROB else LEAST_LOGPROB
