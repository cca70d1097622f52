"""The messages between the app and the engine process: the one definition of both sides.

Requests go app -> engine, events go engine -> app. Every request carries a `request_id`;
the events that answer it carry the same id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from desktop.models.gguf_info import ModelShape

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "cancelled"]
ContextPolicy = Literal["drop_middle", "stop"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class Sampling:
    max_tokens: int = 1024
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()


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


@dataclass(frozen=True)
class UnloadModel:
    request_id: int


@dataclass(frozen=True)
class Generate:
    """Either chat `messages` (rendered with the model's own chat template) or a raw `prompt`."""

    request_id: int
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


@dataclass(frozen=True)
class Cancel:
    request_id: int  # the id of the Generate to stop


@dataclass(frozen=True)
class Tokenize:
    request_id: int
    text: str
    add_special: bool = False


@dataclass(frozen=True)
class ProbeHardware:
    request_id: int


@dataclass(frozen=True)
class Shutdown:
    request_id: int = 0


Request = LoadModel | UnloadModel | Generate | Cancel | Tokenize | ProbeHardware | Shutdown


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


@dataclass(frozen=True)
class Unloaded:
    request_id: int


@dataclass(frozen=True)
class TokenText:
    request_id: int
    text: str


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


ErrorKind = Literal["model_load", "no_model", "context_overflow", "bad_request", "internal"]


@dataclass(frozen=True)
class Failed:
    """A request could not be done; the engine itself is still fine."""

    request_id: int
    kind: ErrorKind
    message: str


Event = ModelLoaded | Unloaded | TokenText | Finished | Tokens | HardwareReport | Failed
