"""The messages between the app and the engine process: the one definition of both sides.

Requests go app -> engine, events go engine -> app. Every request carries a `request_id`;
the events that answer it carry the same id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from desktop.models.gguf_info import ModelShape

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# "tool": the result of a function the model called, given back to it.
Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "cancelled"]
ConstraintKind = Literal["grammar", "json_schema"]
ContextPolicy = Literal["drop_middle", "stop"]
# How an embedding model turns its token vectors into one vector per text.
Pooling = Literal["mean", "cls", "last"]
# How a model's chat template has it write a call of a tool (tasks/tool_call_forms.py reads
# each): "hermes", `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` (Hermes, Qwen 2
# and later, and the many fine-tunes of either); "llama3", a bare `{"name": ..., "parameters":
# {...}}` as the whole answer (Llama 3.1 to 3.3); "mistral", `[TOOL_CALLS][{"name": ...,
# "arguments": {...}}, ...]` (Mistral 7B v0.3, Nemo, Small 3.1); "mistral_args",
# `[TOOL_CALLS]name[ARGS]{...}` (Mistral Small 3.2, Devstral, Ministral 3).
ToolCallForm = Literal["hermes", "llama3", "mistral", "mistral_args"]
# The special tokens the forms write their calls with. Where tools are offered the engine
# writes these out as text, as llama.cpp's server does: it leaves special tokens out of an
# answer, and a call without its marker would read as text.
HERMES_CALL_OPENING, HERMES_CALL_CLOSING = "<tool_call>", "</tool_call>"
LLAMA3_PYTHON_TAG = "<|python_tag|>"
MISTRAL_TOOL_CALLS, MISTRAL_CALL_ID, MISTRAL_ARGS = "[TOOL_CALLS]", "[CALL_ID]", "[ARGS]"
TOOL_CALL_MARKERS: dict[ToolCallForm, tuple[str, ...]] = {
    "hermes": (HERMES_CALL_OPENING, HERMES_CALL_CLOSING),
    "llama3": (LLAMA3_PYTHON_TAG,),
    "mistral": (MISTRAL_TOOL_CALLS,),
    "mistral_args": (MISTRAL_TOOL_CALLS, MISTRAL_CALL_ID, MISTRAL_ARGS),
}


@dataclass(frozen=True)
class ToolCall:
    """A call of a function, as the model made it (OpenAI's `tool_calls[]`)."""

    id: str
    name: str
    arguments: str  # a JSON object, as text


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str
    # An assistant's turn of function calling: the calls it made (beside `content`, if any).
    tool_calls: tuple[ToolCall, ...] = ()
    # A "tool" message: the id of the call whose result `content` is.
    tool_call_id: str | None = None


@dataclass(frozen=True)
class Tool:
    """A function the model may call, which the chat template writes into the prompt."""

    name: str
    description: str | None = None
    parameters: str | None = None  # its arguments' JSON schema, as text; None: it takes none

    def as_json(self) -> dict[str, Any]:
        """OpenAI's form, `{"type": "function", "function": {...}}`: what templates are
        written for (transformers hands them the same)."""
        function: dict[str, Any] = {"name": self.name}
        if self.description is not None:
            function["description"] = self.description
        if self.parameters is not None:
            function["parameters"] = json.loads(self.parameters)
        return {"type": "function", "function": function}


@dataclass(frozen=True)
class Sampling:
    """Every sampling setting llama.cpp offers. Temperature 0 is greedy: always the most
    likely token. Mirostat 1 or 2 replaces top-k / top-p / min-p / typical-p."""

    max_tokens: int = 1024
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    typical_p: float = 1.0
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    mirostat: int = 0  # 0 off, 1 or 2: the Mirostat version
    mirostat_tau: float = 5.0
    mirostat_eta: float = 0.1
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutputConstraint:
    """Output held to a GBNF grammar, or to a JSON schema (turned into a grammar)."""

    kind: ConstraintKind
    text: str
    # For a JSON schema: literal text before and after the JSON (a tool call's markers).
    opening: str = ""
    closing: str = ""
    # For a JSON schema: what the output may be instead, each a JSON schema with texts of its
    # own around it (a call of another tool, in a form that names the tool outside its JSON:
    # `[TOOL_CALLS]name[ARGS]{...}`). They have no alternatives of their own.
    alternatives: tuple[OutputConstraint, ...] = ()


# ---- requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadModel:
    request_id: int
    model_path: str
    context_length: int = 4096
    threads: int | None = None
    # None: chosen from free GPU memory (hardware.choose_gpu_layers); an int overrides it.
    gpu_layers: int | None = None
    shape: ModelShape | None = None
    # For Embed, not Generate: llama.cpp's embedding mode, with the pooling the GGUF declares
    # (mean where it declares none). A text may fill the whole context (at most the context
    # the model was trained on); texts are embedded in batches of that many tokens.
    embedding: bool = False


@dataclass(frozen=True)
class UnloadModel:
    request_id: int


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate, wherever the model runs: either chat `messages` (rendered with the
    model's own chat template) or a raw `prompt`, and how."""

    messages: tuple[ChatMessage, ...] = ()
    prompt: str | None = None
    sampling: Sampling = field(default_factory=Sampling)
    # Reuse the KV cache of a shared prompt prefix (fast follow-ups). Off, the whole prompt
    # is evaluated afresh: the only way the same greedy request gives the same answer
    # bit for bit, since a batch of one token rounds differently from a full batch.
    reuse_cached_prompt: bool = True
    # When the chat does not fit the context: "drop_middle" leaves out the oldest messages
    # after the system prompt until it does (Finished.stats says how many); "stop" fails.
    context_policy: ContextPolicy = "stop"
    # An answer cut short, to go on from: the chat is rendered and this text follows it.
    continue_text: str = ""
    constraint: OutputConstraint | None = None
    # How many alternatives to report with each generated token (GeneratedTokens events
    # instead of TokenText); 0: none, text only.
    logprobs: int = 0
    # Tokens that follow the prompt before generation starts: an answer's first tokens and
    # the alternative the user chose in place of the next one.
    forced_tokens: tuple[int, ...] = ()
    # CPU threads for this request; None: as many as the model was loaded with.
    threads: int | None = None
    # Functions the model may call, for chat `messages`: handed to its chat template, which
    # must read `tools` (ModelLoaded.template_takes_tools). Local engines only.
    tools: tuple[Tool, ...] = ()


@dataclass(frozen=True)
class Generate:
    request_id: int
    request: GenerationRequest


@dataclass(frozen=True)
class Cancel:
    """Stop a Generate: one still queued is answered at once (Finished, "cancelled") and
    skipped; the one being served stops at its next check. Ignored for any other id."""

    request_id: int  # the id of the Generate to stop
    # Stopped to be resumed (the pool's background lane yielding to a chat): text held back
    # (a possible start of a stop string, an unfinished character) is dropped rather than
    # given as final, and not counted as generated, so the resumed request makes it again.
    to_resume: bool = False


@dataclass(frozen=True)
class Embed:
    """Each text to one vector, on a model loaded for embeddings. An empty text has no
    meaning to embed: its vector is all zeros, which matches nothing. A text longer than the
    context fails the request (context_overflow) rather than lose its end unseen."""

    request_id: int
    texts: tuple[str, ...]
    # CPU threads for this request; None: as many as the model was loaded with.
    threads: int | None = None


@dataclass(frozen=True)
class Tokenize:
    request_id: int
    text: str
    add_special: bool = False


@dataclass(frozen=True)
class RenderChat:
    """The chat through the model's template: the exact text the model is given."""

    request_id: int
    messages: tuple[ChatMessage, ...]
    tools: tuple[Tool, ...] = ()  # as GenerationRequest.tools


@dataclass(frozen=True)
class ProbeHardware:
    request_id: int


@dataclass(frozen=True)
class Shutdown:
    request_id: int = 0


Request = (
    LoadModel
    | UnloadModel
    | Generate
    | Cancel
    | Embed
    | Tokenize
    | RenderChat
    | ProbeHardware
    | Shutdown
)


# ---- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelLoaded:
    request_id: int
    model_path: str
    context_length: int
    trained_context_length: int
    layers: int
    gpu_layers: int  # layers actually offloaded
    has_chat_template: bool
    load_seconds: float
    # What the model's makers recommend (the GGUF's general.sampling.* keys), as Sampling
    # field names and values; empty when the file says nothing.
    recommended_sampling: tuple[tuple[str, float], ...] = ()
    # The length of the model's embedding vectors.
    embedding_size: int = 0
    # Loaded for embeddings: how its token vectors become one per text; None: loaded for chat.
    pooling: Pooling | None = None
    # The model's chat template has a place for tools (function calling): it reads `tools`.
    template_takes_tools: bool = False
    # How it has the model write a call, where Lantern knows the form; None: not known.
    tool_call_form: ToolCallForm | None = None


@dataclass(frozen=True)
class Unloaded:
    request_id: int


GenerationStage = Literal["rendering", "reading_prompt"]


@dataclass(frozen=True)
class StageReached:
    """Where a Generate is before its first token: rendering the chat template, sent before
    each render (a chat too long for the context is rendered again for each turn left out;
    each render has its own time limit, so the app may end an engine stuck in one), then
    reading the prompt (which may take minutes on a slow CPU)."""

    request_id: int
    stage: GenerationStage


@dataclass(frozen=True)
class TokenText:
    request_id: int
    text: str


@dataclass(frozen=True)
class TokenChoice:
    token_id: int
    text: str
    logprob: float  # natural log of the model's probability, before any sampling setting


@dataclass(frozen=True)
class GeneratedToken:
    """One generated token: what it added to the text (empty while a character's bytes are
    incomplete), its probability, and the most likely tokens at its place, best first."""

    choice: TokenChoice
    alternatives: tuple[TokenChoice, ...]
    forced: bool = False  # chosen by the user, not sampled


@dataclass(frozen=True)
class GeneratedTokens:
    request_id: int
    tokens: tuple[GeneratedToken, ...]


@dataclass(frozen=True)
class GenerationStats:
    prompt_tokens: int
    # Prompt tokens whose state was already in the KV cache from the previous request.
    cached_prompt_tokens: int
    generated_tokens: int
    time_to_first_token_s: float
    prompt_tokens_per_s: float
    generation_tokens_per_s: float
    total_s: float
    # Messages after the system prompt left out, oldest first, to fit the context window.
    dropped_messages: int = 0
    seed: int | None = None  # the seed sampling used, so that a run can be repeated


@dataclass(frozen=True)
class Finished:
    request_id: int
    finish_reason: FinishReason
    stats: GenerationStats


@dataclass(frozen=True)
class Tokens:
    request_id: int
    tokens: tuple[int, ...]


@dataclass(frozen=True)
class Embeddings:
    request_id: int
    # float32, one row per text in the request's order, each of length 1 (L2), or all zeros
    # for an empty text.
    vectors: npt.NDArray[np.float32]
    tokens: int  # the texts' tokens, all together, as the model read them


@dataclass(frozen=True)
class RenderedChat:
    request_id: int
    text: str
    tokens: int


@dataclass(frozen=True)
class DeviceInfo:
    name: str
    description: str
    kind: Literal["cpu", "gpu", "igpu", "accel"]
    free_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class HardwareReport:
    request_id: int
    backend: str  # "CPU", "CUDA", "Metal", "Vulkan", ...
    gpu_offload: bool
    devices: tuple[DeviceInfo, ...]
    system_info: str


ErrorKind = Literal[
    "model_load",
    "no_model",
    "context_overflow",
    "bad_constraint",
    "bad_template",  # the model's chat template cannot render this chat
    "bad_request",
    # Embed on a model loaded for chat, or Generate on one loaded for embeddings.
    "wrong_mode",
    "internal",
]


@dataclass(frozen=True)
class Failed:
    """A request could not be done; the engine itself is still fine."""

    request_id: int
    kind: ErrorKind
    message: str


Event = (
    ModelLoaded
    | Unloaded
    | StageReached
    | TokenText
    | GeneratedTokens
    | Finished
    | Tokens
    | Embeddings
    | RenderedChat
    | HardwareReport
    | Failed
)


def answer_reserve(max_tokens: int, window: int) -> int:
    """The room kept for the answer when a chat is fitted into a context window: what was
    asked, up to a quarter of the window (the engine worker, remote engines and grounded
    prompts all fit by this one rule)."""
    return min(max_tokens, window // 4)
