"""A remote server's answer as it streams (server-sent events), in the shape of the engine
client's GenerationStream (engine/text_model.py's TextStream): iterate it for the text,
`cancel()` from any thread, `finished` after the end, errors raised from the iteration with
`text` keeping what came before.

A reader thread holds the HTTP response and hands each piece to the iterating thread through
a queue, so that `cancel()` ends the iteration at once even while the server is silent (it
may be reading a long prompt, and closing a response from another thread does not wake a
blocked read); the reader closes the connection at the next chunk the server sends, which
tells the server to stop.

An answer ends normally with [DONE] or a finish reason that says the model stopped (or hit
max_tokens); any other finish reason (vLLM's "abort", an "error"), an error in the stream or
a connection that drops is an error raised from the iteration, the text until then kept.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2

from desktop.engine.answer_stream import AnswerStream
from desktop.engine.protocol import (
    Finished,
    FinishReason,
    GeneratedToken,
    GenerationStats,
    TokenChoice,
)
from desktop.engine.remote_http import ServerConnection, one_line
from desktop.errors import (
    LanternError,
    RemoteAnswerCut,
    RemoteConnectionLost,
    RemoteServerError,
)

log = logging.getLogger(__name__)

UNKNOWN_TOKEN_ID = -1  # most servers name a token's text and probability, not its id
# Finish reasons of an answer that ended as the model meant it to: its end of text or a stop
# string (TGI says eos_token and stop_sequence), or a tool call (Lantern offers no tools, but
# the model stopped of its own accord). "length" is max_tokens. Any other reason (vLLM's
# "abort", "error", a provider's "content_filter"), or none, cut the answer short.
_NORMAL_ENDS = frozenset({"stop", "eos_token", "stop_sequence", "tool_calls", "function_call"})


@dataclass(frozen=True)
class _Piece:
    text: str
    tokens: tuple[GeneratedToken, ...]
    at: float


@dataclass
class _Tally:
    """What the server said about the answer besides its text."""

    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)  # llama-server's own figures
    done: bool = False  # [DONE] came
    pieces: int = 0  # of the answer, handed on


@dataclass(frozen=True)
class _End:
    reason: FinishReason
    tally: _Tally
    at: float


@dataclass(frozen=True)
class _Failure:
    error: LanternError


class _Cancelled:
    """Put on the queue by cancel(): the iteration ends now."""


_Item = _Piece | _End | _Failure | _Cancelled


class RemoteStream(AnswerStream):
    """The stage is "reading_prompt" once the server took the request."""

    def __init__(
        self,
        connection: ServerConnection,
        path: str,
        body: dict[str, Any],
        *,
        model: str,
        seed: int | None,
        dropped_messages: int = 0,
    ) -> None:
        super().__init__()
        self._connection = connection
        self._model = model
        self._seed = seed
        self._dropped = dropped_messages
        self._inbox: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._cancelled = threading.Event()
        self._started = time.monotonic()
        self._first_at: float | None = None
        self._reader = threading.Thread(
            target=self._read, args=(path, body), name="remote-stream", daemon=True
        )
        self._reader.start()

    def cancel(self) -> None:
        if self._ended:
            return
        self._cancelled.set()
        self._inbox.put(_Cancelled())

    def __iter__(self) -> Iterator[str]:
        try:
            while not self._ended:
                item = self._inbox.get()
                if isinstance(item, _Piece):
                    if self._first_at is None:
                        self._first_at = item.at
                    self.tokens.extend(item.tokens)
                    if item.text:
                        self._pieces.append(item.text)
                        yield item.text
                elif isinstance(item, _End):
                    self._finish(item.reason, item.tally, item.at)
                elif isinstance(item, _Cancelled):
                    self._finish("cancelled", _Tally(), time.monotonic())
                else:
                    self._ended = True
                    raise item.error
        finally:
            if not self._ended:  # left half-way: the server would go on to max_tokens
                self.cancel()

    # ---- the iterating thread ----

    def _finish(self, reason: FinishReason, tally: _Tally, ended: float) -> None:
        self.finished = Finished(0, reason, self._stats(tally, ended))
        self._ended = True

    def _stats(self, tally: _Tally, ended: float) -> GenerationStats:
        """The figures as well as the server gives them: its usage (with
        stream_options.include_usage) and llama-server's timings; else counted here."""
        usage, timings = tally.usage, tally.timings
        counted = len(self.tokens) or len(self._pieces)
        generated = _count(usage.get("completion_tokens"), timings.get("predicted_n"), counted)
        cached = _count(_cached_tokens(usage), timings.get("cache_n"), 0)
        prompt = _count(usage.get("prompt_tokens"), _prompt_n(timings), 0)
        first = self._first_at
        ttft = first - self._started if first is not None else 0.0
        decode_s = ended - first if first is not None else 0.0
        return GenerationStats(
            prompt_tokens=prompt,
            cached_prompt_tokens=cached,
            generated_tokens=generated,
            time_to_first_token_s=ttft,
            prompt_tokens_per_s=_rate(
                timings.get("prompt_per_second"), prompt - cached, ttft if first else 0.0
            ),
            generation_tokens_per_s=_rate(timings.get("predicted_per_second"), generated, decode_s),
            total_s=ended - self._started,
            dropped_messages=self._dropped,
            seed=self._seed,
        )

    # ---- the reader thread ----

    def _read(self, path: str, body: dict[str, Any]) -> None:
        tally = _Tally()
        answered = False  # the server took the request: from here, a drop loses the answer
        try:
            with self._connection.open(
                "POST", path, body, model=self._model, cancelled=self._cancelled
            ) as response:
                if response is None:  # cancelled while the server was busy
                    return
                answered = True
                self._reach("reading_prompt")
                for event in httpx2.EventSource(response):
                    if self._cancelled.is_set():
                        return  # closing the response tells the server to stop
                    data = event.data.strip()
                    if event.event == "error":
                        raise self._failed(_error_said(_json_or_text(data)))
                    if not data:
                        continue  # a keep-alive, or only a field for the client (retry:, id:)
                    if data == "[DONE]":
                        tally.done = True
                        break
                    piece = self._read_chunk(json.loads(data), tally)
                    if piece is not None:
                        self._inbox.put(piece)
            if not tally.done and tally.finish_reason is None:
                raise self._lost("the server closed it", tally)
            self._inbox.put(_End(self._finish_reason(tally), tally, time.monotonic()))
        except LanternError as exc:
            self._inbox.put(_Failure(exc))
        except httpx2.SSEError as exc:
            self._inbox.put(_Failure(self._not_streamed(exc)))
        except httpx2.TransportError as exc:
            error = self._lost(str(exc) or type(exc).__name__, tally) if answered else None
            self._inbox.put(_Failure(error or self._connection.unreachable(exc)))
        except ValueError as exc:  # a chunk that is not JSON
            self._inbox.put(_Failure(self._not_streamed(exc)))
        except Exception as exc:  # a bug here must not leave the iteration waiting forever
            log.exception("Reading the answer of %s failed", self._connection.name)
            self._inbox.put(_Failure(RemoteServerError(f"Reading the answer failed: {exc!r}.")))

    def _read_chunk(self, chunk: Any, tally: _Tally) -> _Piece | None:
        if not isinstance(chunk, dict):
            raise ValueError("a chunk that is not an object")
        if chunk.get("error"):  # some servers send "error": null in every chunk
            raise self._failed(_error_said(chunk["error"]))
        if isinstance(chunk.get("usage"), dict):
            tally.usage = chunk["usage"]
        if isinstance(chunk.get("timings"), dict):
            tally.timings = chunk["timings"]
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return None  # the usage chunk, or a keep-alive
        choice = choices[0]
        reason = choice.get("finish_reason")
        if isinstance(reason, str):
            tally.finish_reason = reason
        delta = choice.get("delta")
        text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
        tokens = generated_tokens(choice.get("logprobs"))
        if not isinstance(text, str):
            text = ""
        if not text and not tokens:
            return None
        tally.pieces += 1
        return _Piece(text, tokens, time.monotonic())

    def _failed(self, said: str) -> RemoteServerError:
        name = self._connection.name
        return RemoteServerError(
            f"The server {name} failed in the middle of the answer: {said.rstrip('.')}."
        )

    def _finish_reason(self, tally: _Tally) -> FinishReason:
        """How the answer ended, as Lantern names it; RemoteAnswerCut for a reason that is
        no normal end (the text until then is kept, as after a dropped connection)."""
        said = tally.finish_reason
        if said in _NORMAL_ENDS:
            return "stop"
        if said == "length":
            return "length"
        # Every server names the reason in the answer's last chunk; llama-cpp-python's ends
        # the stream without one when another request reaches it meanwhile.
        why = one_line(said) if said is not None else "without saying why"
        name = self._connection.name
        if not tally.pieces:
            raise RemoteAnswerCut(f"The server {name} ended the answer before it began ({why}).")
        raise RemoteAnswerCut(
            f"The server {name} cut the answer short ({why}); what it wrote until then is kept."
        )

    def _lost(self, why: str, tally: _Tally) -> RemoteConnectionLost:
        name = self._connection.name
        if not tally.pieces:
            return RemoteConnectionLost(
                f"The connection to the server {name} dropped before the answer began ({why})."
            )
        return RemoteConnectionLost(
            f"The connection to the server {name} dropped in the middle of the answer ({why}); "
            "what it wrote until then is kept."
        )

    def _not_streamed(self, exc: Exception) -> RemoteServerError:
        return RemoteServerError(
            f"The server {self._connection.name} did not stream its answer as OpenAI-compatible "
            f"servers do ({exc})."
        )


def generated_tokens(logprobs: Any) -> tuple[GeneratedToken, ...]:
    """Tokens and their alternatives from a chunk's logprobs: the chat form (`content`, a
    list of tokens with `top_logprobs`) or the completions form (`tokens`,
    `token_logprobs`, `top_logprobs` as token -> logprob)."""
    if not isinstance(logprobs, dict):
        return ()
    if isinstance(logprobs.get("content"), list):
        return tuple(
            GeneratedToken(
                _choice(entry),
                tuple(_choice(top) for top in entry.get("top_logprobs") or () if _is_top(top)),
            )
            for entry in logprobs["content"]
            if _is_top(entry)
        )
    texts, probabilities = logprobs.get("tokens"), logprobs.get("token_logprobs")
    tops = logprobs.get("top_logprobs")
    if not (isinstance(texts, list) and isinstance(probabilities, list)):
        return ()
    tops = tops if isinstance(tops, list) else [None] * len(texts)
    found = []
    for text, logprob, top in zip(texts, probabilities, tops, strict=False):
        alternatives = sorted(
            (
                TokenChoice(UNKNOWN_TOKEN_ID, str(t), _logprob(p))
                for t, p in (top.items() if isinstance(top, dict) else ())
            ),
            key=lambda c: -c.logprob,
        )
        chosen = TokenChoice(UNKNOWN_TOKEN_ID, str(text), _logprob(logprob))
        found.append(GeneratedToken(chosen, tuple(alternatives)))
    return tuple(found)


def _is_top(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("token"), str)


def _choice(entry: dict[str, Any]) -> TokenChoice:
    token_id = entry.get("id")
    if not isinstance(token_id, int) or isinstance(token_id, bool):
        token_id = UNKNOWN_TOKEN_ID
    return TokenChoice(token_id, entry["token"], _logprob(entry.get("logprob")))


def _logprob(value: Any) -> float:
    try:
        found = float(value)
    except (TypeError, ValueError):
        return -math.inf
    return found if not math.isnan(found) else -math.inf


def _json_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


def _error_said(error: Any) -> str:
    """What an error in the stream says, in the shapes servers send it: {"error": {"message":
    ...}}, {"message": ...}, or words; one line, and never "None"."""
    if isinstance(error, dict):
        error = error.get("error", error)
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail") or error.get("type")
    said = one_line(error) if isinstance(error, str) else ""
    return said or "it gave no reason"


def _count(*candidates: Any) -> int:
    """The first of the figures that is a count."""
    return next(
        (n for n in candidates if isinstance(n, int) and not isinstance(n, bool) and n >= 0), 0
    )


def _cached_tokens(usage: dict[str, Any]) -> Any:
    details = usage.get("prompt_tokens_details")
    return details.get("cached_tokens") if isinstance(details, dict) else None


def _prompt_n(timings: dict[str, Any]) -> Any:
    """llama-server's prompt_n counts the tokens it read; cache_n those it had already."""
    read, cached = timings.get("prompt_n"), timings.get("cache_n")
    if isinstance(read, int) and isinstance(cached, int):
        return read + cached
    return read


def _rate(stated: Any, tokens: int, seconds: float) -> float:
    if isinstance(stated, int | float) and not isinstance(stated, bool) and stated >= 0:
        return float(stated)
    return tokens / seconds if tokens and seconds > 0 else 0.0
