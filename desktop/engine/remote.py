"""A model on an OpenAI-compatible server (vLLM, llama.cpp's llama-server, llama-cpp-python's
server, Ollama, LM Studio...), behind the TextModel the services use for a local model
(engine/text_model.py): a chat streams from POST /v1/chat/completions, a prompt as is from
POST /v1/completions.

What the server can do was found when the remote was added or tested (remote_probe.py); asking
for more (a grammar it cannot hold to, the exact prompt text, which only the server sees) is
a RemoteUnsupported error with the reason its Capabilities give. Sampling settings go as the
fields each kind of server takes: OpenAI's for every server; top-k, min-p, typical-p, the
repeat penalty and Mirostat as llama.cpp's servers name them (vLLM takes top-k, min-p and the
repeat penalty); a server of unknown kind gets OpenAI's fields only, since a strict one
refuses the others.

Token counts use the server's tokenize endpoint where it has one, else an estimate: one token
per ESTIMATE_BYTES_PER_TOKEN bytes of UTF-8, rounded up (`capabilities.exact_token_counts`
then says so); the counts are kept across requests (TokenCounts: the RemoteService keeps one
per model, since a chat counts its whole history each turn). A chat that does not fit the
context window is trimmed (or refused) by that count, as the local engine does by its own,
and max_tokens is held to what the window has left (vLLM refuses a request over it).
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections import OrderedDict
from typing import Any

from desktop.engine.protocol import (
    ChatMessage,
    ContextPolicy,
    GenerationRequest,
    ModelLoaded,
    OutputConstraint,
    RenderedChat,
    Sampling,
    answer_reserve,
)
from desktop.engine.remote_http import ServerConnection
from desktop.engine.remote_probe import (
    DEFAULT_CONTEXT_LENGTH,
    ServerProfile,
    response_format,
    token_list,
    tokenize_request,
)
from desktop.engine.remote_stream import RemoteStream
from desktop.engine.text_model import Capabilities
from desktop.errors import ContextOverflow, InvalidConstraint, RemoteServerError, RemoteUnsupported
from desktop.models.remotes import ServedModel, remote_model_id

ESTIMATE_BYTES_PER_TOKEN = 4
# What a chat template adds around each message (role markers, end of turn), about.
MESSAGE_OVERHEAD_TOKENS = 8
MAX_TOP_LOGPROBS = 20  # OpenAI's limit, which the servers follow
COUNT_CACHE_SIZE = 2048  # texts whose token count is kept: a long chat is counted each turn


class TokenCounts:
    """Texts' token counts by one model's tokenizer, the least recently used forgotten past
    `size`. Thread-safe."""

    def __init__(self, size: int = COUNT_CACHE_SIZE) -> None:
        self._size = size
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> int | None:
        with self._lock:
            if text not in self._counts:
                return None
            self._counts.move_to_end(text)
            return self._counts[text]

    def put(self, text: str, count: int) -> None:
        with self._lock:
            self._counts[text] = count
            if len(self._counts) > self._size:
                self._counts.popitem(last=False)


class RemoteModel:
    """One model of one server. Thread-safe; the connection is the service's to close.
    `counts`: the token counts kept for this model across requests (else its own)."""

    def __init__(
        self,
        remote: str,
        connection: ServerConnection,
        profile: ServerProfile,
        served: ServedModel,
        *,
        counts: TokenCounts | None = None,
    ) -> None:
        self._remote = remote
        self._connection = connection
        self._profile = profile
        self._model = served.id
        self._capabilities = profile.capabilities(remote)
        context = served.context_length or DEFAULT_CONTEXT_LENGTH
        self.context_stated = served.context_length is not None  # else assumed
        self._loaded = ModelLoaded(
            request_id=0,
            model_path=remote_model_id(remote, served.id),
            context_length=context,
            trained_context_length=context,
            layers=0,
            gpu_layers=0,
            has_chat_template=True,  # the server applies the model's template
            load_seconds=0.0,
        )
        self._counts = counts if counts is not None else TokenCounts()

    @property
    def loaded(self) -> ModelLoaded:
        return self._loaded

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def id(self) -> str:
        """`NAME:MODEL`, as `--model` takes it."""
        return self._loaded.model_path

    def generate(self, request: GenerationRequest) -> RemoteStream:
        """Start the answer; iterate the stream for its text. Raises RemoteUnsupported at
        once for what the server cannot do, and from the stream for what goes wrong there.
        `request.threads` is not sent: the server decides its own."""
        caps = self._capabilities
        if request.forced_tokens:
            raise RemoteUnsupported(caps.forced_tokens)
        if request.logprobs and not self._profile.logprobs:
            raise RemoteUnsupported(caps.logprobs)
        sampling = request.sampling
        seed = sampling.seed if sampling.seed is not None else random.randrange(2**31)
        body: dict[str, Any] = {
            "model": self._model,
            "stream": True,
            "stream_options": {"include_usage": True},
            **sampling_fields(sampling, seed, self._profile),
        }
        if self._profile.kind == "llama-server":
            body["cache_prompt"] = request.reuse_cached_prompt
        dropped = 0
        if request.prompt is not None:
            if not self._profile.raw_completion:
                raise RemoteUnsupported(caps.raw_completion)
            path = "/v1/completions"
            body["prompt"] = request.prompt + request.continue_text
            if self.context_stated:
                body["max_tokens"] = self._answer_room(
                    sampling.max_tokens, self.count_tokens(body["prompt"])
                )
            if request.logprobs:
                body["logprobs"] = min(request.logprobs, MAX_TOP_LOGPROBS)
        else:
            path = "/v1/chat/completions"
            fitted, dropped, needed = self._fit(
                request.messages, sampling.max_tokens, request.context_policy
            )
            body["messages"] = [{"role": m.role, "content": m.content} for m in fitted]
            body["max_tokens"] = self._answer_room(sampling.max_tokens, needed)
            if request.continue_text:
                body.update(self._continuing(body["messages"], request.continue_text))
            if request.logprobs:
                body["logprobs"] = True
                body["top_logprobs"] = min(request.logprobs, MAX_TOP_LOGPROBS)
        if request.constraint is not None:
            body.update(self._constraint_fields(request.constraint, chat=request.prompt is None))
        return RemoteStream(
            self._connection, path, body, model=self._model, seed=seed, dropped_messages=dropped
        )

    def count_tokens(self, text: str) -> int:
        """By the server's tokenizer where it has one, else about one token per 4 bytes."""
        if self._profile.tokenize is None:
            return estimated_tokens(text)
        count = self._counts.get(text)
        if count is None:
            count = len(self.tokenize(text))
            self._counts.put(text, count)
        return count

    def tokenize(self, text: str, *, add_special: bool = False) -> tuple[int, ...]:
        form = self._profile.tokenize
        if form is None:
            raise RemoteUnsupported(self._capabilities.exact_token_counts)
        path, body = tokenize_request(form, self._model, text, add_special)
        try:
            tokens = token_list(self._connection.post_json(path, body, model=self._model))
        except ValueError as exc:
            raise RemoteServerError(
                f"The server {self._remote} answered {path} without a list of tokens."
            ) from exc
        adds = self._profile.tokenize_adds  # put there whether asked or not
        if not add_special and adds and tokens[: len(adds)] == adds:
            tokens = tokens[len(adds) :]
        return tokens

    def render_chat(self, messages: tuple[ChatMessage, ...]) -> RenderedChat:
        raise RemoteUnsupported(self._capabilities.rendered_prompt)

    # A service holds a remote model as it holds a local model's lease (engine/pool.py): for
    # all its steps, then released. There is nothing to give back: the server schedules
    # requests itself, and the connection is the RemoteService's.

    def release(self) -> None:
        """Nothing held here (see above)."""

    def __enter__(self) -> RemoteModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # ---- the request ----

    def _fit(
        self, messages: tuple[ChatMessage, ...], max_tokens: int, policy: ContextPolicy
    ) -> tuple[list[ChatMessage], int, int]:
        """The messages that fit the context window with room for the answer (what was
        asked, up to a quarter of the window), how many were left out (the oldest after the
        system prompt, in whole turns, the latest always kept) and the tokens those kept
        take."""
        window = self._loaded.context_length
        reserve = answer_reserve(max_tokens, window)
        kept = list(messages)
        first = 1 if kept and kept[0].role == "system" else 0

        def needed() -> int:
            return sum(self.count_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS for m in kept)

        if policy == "stop" and needed() + reserve > window:
            raise self._overflow("The conversation", needed() + reserve, stop_policy=True)
        dropped = 0
        while needed() + reserve > window and len(kept) - first > 1:
            del kept[first]
            dropped += 1
            while kept[first].role == "assistant" and len(kept) - first > 1:
                del kept[first]
                dropped += 1
        if needed() + 1 > window:
            raise self._overflow("The latest message", needed() + 1, stop_policy=False)
        return kept, dropped, needed()

    def _answer_room(self, max_tokens: int, needed: int) -> int:
        """max_tokens, held to what the window leaves after the prompt's `needed` tokens
        (at least 1). Only a window the server stated holds it: one assumed would cut
        answers short for nothing."""
        if not self.context_stated:
            return max_tokens
        return max(1, min(max_tokens, self._loaded.context_length - needed))

    def _overflow(self, what: str, tokens: int, *, stop_policy: bool) -> ContextOverflow:
        about = "" if self._profile.tokenize else "about "
        advice = (
            "Let Lantern leave out the oldest messages (the conversation's context setting), "
            "or start a new conversation."
            if stop_policy
            else "Shorten it."
        )
        return ContextOverflow(
            f"{what} needs {about}{tokens:,} tokens with room for an answer, but the model's "
            f"context window on the server {self._remote} holds {self._loaded.context_length:,}. "
            f"{advice}"
        )

    def _continuing(self, messages: list[dict[str, str]], continue_text: str) -> dict[str, Any]:
        """The answer cut short, as the start of the last assistant message: llama-server
        goes on from it (its prefill), vLLM when told continue_final_message."""
        if not self._profile.continues_answers:
            raise RemoteUnsupported(
                f"The server {self._remote} cannot go on from an answer cut short; "
                "regenerate the answer instead."
            )
        messages.append({"role": "assistant", "content": continue_text})
        if self._profile.kind == "vllm":
            return {"continue_final_message": True, "add_generation_prompt": False}
        return {}

    def _constraint_fields(self, constraint: OutputConstraint, *, chat: bool) -> dict[str, Any]:
        caps = self._capabilities
        if constraint.kind == "grammar":
            if not self._profile.grammar:
                raise RemoteUnsupported(caps.grammar)
            return {"grammar": constraint.text}
        form = self._profile.json_schema
        if form is None:
            raise RemoteUnsupported(caps.json_schema)
        if not chat:
            raise RemoteUnsupported(
                f"The server {self._remote} holds output to a JSON schema in chats only, not "
                "for a prompt as is."
            )
        try:
            schema = json.loads(constraint.text)
        except ValueError as exc:
            raise InvalidConstraint(f"The JSON schema is not valid JSON: {exc}.") from exc
        return {"response_format": response_format(form, schema)}


def sampling_fields(sampling: Sampling, seed: int, profile: ServerProfile) -> dict[str, Any]:
    """The sampling settings as the kind of server takes them."""
    fields: dict[str, Any] = {
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "presence_penalty": sampling.presence_penalty,
        "frequency_penalty": sampling.frequency_penalty,
        "seed": seed,
    }
    if sampling.stop:
        fields["stop"] = list(sampling.stop)
    if profile.kind in ("llama-server", "llama-cpp-python"):
        mirostat = "mirostat" if profile.kind == "llama-server" else "mirostat_mode"
        fields |= {
            "top_k": sampling.top_k,
            "min_p": sampling.min_p,
            "typical_p": sampling.typical_p,
            "repeat_penalty": sampling.repeat_penalty,
            mirostat: sampling.mirostat,
            "mirostat_tau": sampling.mirostat_tau,
            "mirostat_eta": sampling.mirostat_eta,
        }
    elif profile.kind == "vllm":
        fields |= {
            "top_k": sampling.top_k,
            "min_p": sampling.min_p,
            "repetition_penalty": sampling.repeat_penalty,
        }
    return fields


def estimated_tokens(text: str) -> int:
    """About one token per 4 bytes of UTF-8 (English runs near that), rounded up."""
    return math.ceil(len(text.encode("utf-8")) / ESTIMATE_BYTES_PER_TOKEN)
