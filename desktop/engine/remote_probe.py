"""What an OpenAI-compatible server offers, found by asking it.

Its models and their context windows come from GET /v1/models (vLLM says `max_model_len`,
llama-server `meta.n_ctx_train` and, at /props, the context it runs with); which kind of
server it is, from how it lists them and which tokenize endpoint answers. What it can do
beyond chat is found by tiny real requests (a few tokens each), since a server that does not
know a field often ignores it without a word: a grammar counts only if the answer is the one
the grammar allows, a JSON schema only if the answer follows it.

This runs when a remote is added or tested; its profile is kept with the remote
(models/remotes.py) and becomes the Capabilities a surface shows, with the reason for each
thing greyed out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar, get_args

from desktop.engine.remote_http import ServerConnection
from desktop.engine.text_model import Capabilities
from desktop.errors import (
    RemoteAccessDenied,
    RemoteApiNotFound,
    RemoteModelNotFound,
    RemoteServerError,
    RemoteUnsupported,
)
from desktop.models.remotes import ServedModel

log = logging.getLogger(__name__)

ServerKind = Literal["llama-server", "llama-cpp-python", "vllm", "openai-compatible"]
# The response_format type that carries a JSON schema: OpenAI's (llama-server, vLLM), or
# llama-cpp-python's json_object with a schema.
JsonSchemaForm = Literal["json_schema", "json_object"]
TokenizeForm = Literal["llama-server", "llama-cpp-python", "vllm"]

# The context window assumed where a server does not say: Lantern's own default.
DEFAULT_CONTEXT_LENGTH = 4096
MAX_MODELS = 1000  # of a listing: more is not a server's listing of what it serves
MAX_MODEL_ID_CHARS = 256
MAX_CONTEXT_LENGTH = 100_000_000
# Keys in which servers state a model's context window, in each /v1/models entry.
_CONTEXT_KEYS = ("max_model_len", "context_length", "context_window", "max_context_length")
PROBE_TEXT = "Hello world"
_PROBE_SCHEMA = {
    "type": "object",
    "properties": {"lantern": {"const": 7}},
    "required": ["lantern"],
}
_PROBE_GRAMMAR = 'root ::= "Lantern"'

T = TypeVar("T")


@dataclass(frozen=True)
class ServerListing:
    models: tuple[ServedModel, ...]
    latency_s: float  # of the GET /v1/models
    kind: ServerKind  # as far as the listing tells


@dataclass(frozen=True)
class ServerProfile:
    """What a server was found to do. The defaults: plain chat, nothing more."""

    kind: ServerKind = "openai-compatible"
    raw_completion: bool = False
    logprobs: bool = False
    json_schema: JsonSchemaForm | None = None
    grammar: bool = False
    tokenize: TokenizeForm | None = None
    # What the tokenize endpoint puts before any text when it cannot be told not to.
    tokenize_adds: tuple[int, ...] = ()

    @property
    def continues_answers(self) -> bool:
        """An answer cut short can go on: the server takes it as the last assistant
        message's start (llama-server's prefill, vLLM's continue_final_message)."""
        return self.kind in ("llama-server", "vllm")

    def capabilities(self, name: str) -> Capabilities:
        server = f"The server {name}"
        return Capabilities(
            raw_completion=None
            if self.raw_completion
            else f"{server} has no completion endpoint for a prompt as is (/v1/completions); "
            "it takes chats only.",
            logprobs=None if self.logprobs else f"{server} does not report token probabilities.",
            grammar=None
            if self.grammar
            else f"{server} does not hold output to a GBNF grammar (llama.cpp's servers do).",
            json_schema=None
            if self.json_schema
            else f"{server} does not hold output to a JSON schema.",
            rendered_prompt=f"{server} applies the model's chat template itself, so Lantern "
            "cannot show the exact text the model is given.",
            forced_tokens=f"{server} cannot go on from a token you choose.",
            exact_token_counts=None
            if self.tokenize
            else f"{server} has no tokenize endpoint: token counts are estimates (about one "
            "token for every 4 bytes of text).",
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "tokenize_adds": list(self.tokenize_adds)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServerProfile:
        """The profile kept in the remotes file; what is missing or odd there, as if the
        server could not do it (a new test finds it again)."""
        default = cls()
        adds = data.get("tokenize_adds")
        return cls(
            kind=_one_of(data.get("kind"), ServerKind, default.kind),
            raw_completion=data.get("raw_completion") is True,
            logprobs=data.get("logprobs") is True,
            json_schema=_one_of(data.get("json_schema"), JsonSchemaForm, None),
            grammar=data.get("grammar") is True,
            tokenize=_one_of(data.get("tokenize"), TokenizeForm, None),
            tokenize_adds=tuple(t for t in adds if _is_int(t)) if isinstance(adds, list) else (),
        )


def _one_of(value: Any, kind: Any, default: T) -> T:
    return value if value in get_args(kind) else default


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---- the listing ----


def list_models(connection: ServerConnection) -> ServerListing:
    """GET /v1/models: the models, their context windows, the time the server took."""
    started = time.monotonic()
    data = connection.get_json("/v1/models")
    latency = time.monotonic() - started
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise RemoteServerError(
            f"The server {connection.name} answered /v1/models without a list of models: it "
            "may not be an OpenAI-compatible server."
        )
    entries = [e for e in entries[:MAX_MODELS] if isinstance(e, dict) and _model_id(e)]
    kind = _kind_of(entries)
    running_context = _llama_server_context(connection) if kind == "llama-server" else None
    models = tuple(
        ServedModel(_model_id(e) or "", running_context or _context_length(e)) for e in entries
    )
    return ServerListing(models, latency, kind)


def _model_id(entry: dict[str, Any]) -> str | None:
    found = entry.get("id")
    if not isinstance(found, str) or not 0 < len(found) <= MAX_MODEL_ID_CHARS:
        return None
    return found if found.isprintable() else None


def _context_length(entry: dict[str, Any]) -> int | None:
    meta = entry.get("meta")
    stated = [entry.get(key) for key in _CONTEXT_KEYS]
    if isinstance(meta, dict):
        stated.append(meta.get("n_ctx_train"))
    return next((n for n in map(_context_count, stated) if n is not None), None)


def _kind_of(entries: list[dict[str, Any]]) -> ServerKind:
    owners = {e.get("owned_by") for e in entries if isinstance(e.get("owned_by"), str)}
    if "vllm" in owners or any("max_model_len" in e for e in entries):
        return "vllm"
    if "llamacpp" in owners or any(isinstance(e.get("meta"), dict) for e in entries):
        return "llama-server"
    return "openai-compatible"


def _llama_server_context(connection: ServerConnection) -> int | None:
    """The context each of llama-server's slots has (its -c over its --parallel)."""
    props = _beside_the_api(lambda: connection.get_json("/props"))
    if not isinstance(props, dict):
        return None
    settings = props.get("default_generation_settings")
    return _context_count(
        settings.get("n_ctx") if isinstance(settings, dict) else props.get("n_ctx")
    )


def _context_count(value: Any) -> int | None:
    """A context window a server states, if it is one."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_CONTEXT_LENGTH:
        return value
    return None


# ---- what it can do ----


def probe_server(connection: ServerConnection, listing: ServerListing) -> ServerProfile:
    """Ask the server what it can do, with its first model. An unreachable server, a key
    refused on the API's paths or a server that stays busy fails the probe with that error."""
    if not listing.models:
        return ServerProfile(kind=listing.kind)
    model = listing.models[0].id
    tokenize, adds = _probe_tokenize(connection, model, listing.kind)
    kind: ServerKind = "llama-cpp-python" if tokenize == "llama-cpp-python" else listing.kind
    return ServerProfile(
        kind=kind,
        raw_completion=_answer(
            lambda: _completion_text(connection, model, {"prompt": PROBE_TEXT, "max_tokens": 1})
        )
        is not None,
        logprobs=bool(_answer(lambda: _top_logprobs(connection, model))),
        json_schema=_probe_json_schema(connection, model),
        grammar=_answer(lambda: _chat_text(connection, model, {"grammar": _PROBE_GRAMMAR}, 4))
        == "Lantern",
        tokenize=tokenize,
        tokenize_adds=adds,
    )


def tokenize_request(
    form: TokenizeForm, model: str, text: str, add_special: bool
) -> tuple[str, dict[str, Any]]:
    """The path and body that ask a server of this form for `text`'s tokens."""
    if form == "llama-server":
        return "/tokenize", {"content": text, "add_special": add_special}
    if form == "vllm":
        return "/tokenize", {"model": model, "prompt": text, "add_special_tokens": add_special}
    return "/extras/tokenize", {"model": model, "input": text}


def token_list(data: Any) -> tuple[int, ...]:
    """The tokens in a tokenize endpoint's answer; ValueError if it holds none."""
    tokens = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(tokens, list) or not all(_is_int(t) for t in tokens):
        raise ValueError("no list of token ids")
    return tuple(tokens)


def _probe_tokenize(
    connection: ServerConnection, model: str, kind: ServerKind
) -> tuple[TokenizeForm | None, tuple[int, ...]]:
    forms: list[TokenizeForm] = ["llama-server", "vllm", "llama-cpp-python"]
    if kind in forms:
        forms.sort(key=lambda form: form != kind)

    def tokens(form: TokenizeForm, text: str) -> tuple[int, ...] | None:
        path, body = tokenize_request(form, model, text, False)
        return _beside_the_api(lambda: token_list(connection.post_json(path, body)))

    for form in forms:
        if tokens(form, PROBE_TEXT):
            # llama-cpp-python's cannot be told to leave special tokens out: which it adds.
            adds = (tokens(form, "") or ()) if form == "llama-cpp-python" else ()
            return form, adds
    return None, ()


def _probe_json_schema(connection: ServerConnection, model: str) -> JsonSchemaForm | None:
    forms: tuple[JsonSchemaForm, ...] = ("json_schema", "json_object")

    def answer(form: JsonSchemaForm) -> str | None:
        extra = {"response_format": response_format(form, _PROBE_SCHEMA)}
        return _answer(lambda: _chat_text(connection, model, extra, 12))

    for form in forms:
        if '"lantern"' in (answer(form) or ""):
            return form
    return None


def response_format(form: JsonSchemaForm, schema: Any) -> dict[str, Any]:
    if form == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    return {"type": "json_object", "schema": schema}


def _chat_text(
    connection: ServerConnection, model: str, extra: dict[str, Any], max_tokens: int
) -> str:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": max_tokens,
        "temperature": 0,
        **extra,
    }
    content = connection.post_json("/v1/chat/completions", body, model=model)["choices"][0][
        "message"
    ]["content"]
    if not isinstance(content, str):
        raise ValueError("no text in the answer")
    return content


def _completion_text(connection: ServerConnection, model: str, extra: dict[str, Any]) -> str:
    body = {"model": model, "temperature": 0, **extra}
    text = connection.post_json("/v1/completions", body, model=model)["choices"][0]["text"]
    if not isinstance(text, str):
        raise ValueError("no text in the answer")
    return text


def _top_logprobs(connection: ServerConnection, model: str) -> list[Any]:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 1,
        "logprobs": True,
        "top_logprobs": 2,
    }
    data = connection.post_json("/v1/chat/completions", body, model=model)
    alternatives = data["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    return alternatives if isinstance(alternatives, list) else []


def _answer(ask: Callable[[], T]) -> T | None:
    """What `ask` got, or None where the server does not do it (an error status, an answer
    of another shape). Unreachable, a refused key, busy: those go on to the caller."""
    try:
        return ask()
    except (RemoteServerError, RemoteModelNotFound, RemoteApiNotFound, RemoteUnsupported) as exc:
        log.info("Probe: %s", exc)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        log.info("Probe: an answer of another shape (%s: %s)", type(exc).__name__, exc)
    return None


def _beside_the_api(ask: Callable[[], T]) -> T | None:
    """As _answer, for an endpoint beside the OpenAI API (/props, /tokenize): the key that
    /v1/models took is refused there by a gateway that lets the API through only, so a
    refusal means the server does not offer it."""
    try:
        return _answer(ask)
    except RemoteAccessDenied as exc:
        log.info("Probe: %s", exc)
        return None
