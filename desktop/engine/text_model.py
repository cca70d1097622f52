"""What a model Lantern generates with offers the services, wherever it runs: in an engine
process of this computer (engine/client.py, held through the pool) or on an OpenAI-compatible
server (engine/remote.py). The services call only this, so that a summary, a translation or a
chat works the same on either.

A surface greys out what a model cannot do (`Capabilities`), with the reason it gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from desktop.engine.protocol import (
    ChatMessage,
    Finished,
    GeneratedToken,
    GenerationRequest,
    GenerationStage,
    GenerationStats,
    ModelLoaded,
    RenderedChat,
)


class TextStream(Protocol):
    """An answer as it is generated: iterate it for its text; `cancel()` from any thread.
    After the iteration, `finished` says how it ended (finish reason, stats). Errors are raised
    from the iteration; `text` keeps what came before one."""

    finished: Finished | None
    tokens: list[GeneratedToken]  # with logprobs asked for: each token and its alternatives

    @property
    def stats(self) -> GenerationStats | None: ...

    @property
    def text(self) -> str: ...

    @property
    def stage(self) -> GenerationStage | None: ...

    def wait_for_stage(self, stage: GenerationStage, timeout: float) -> bool: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...

    def __iter__(self) -> Iterator[str]: ...

    def __enter__(self) -> TextStream: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@dataclass(frozen=True)
class Capabilities:
    """What a model can do beyond chat. Each field is None when it can, else the reason it
    cannot, written for the user (shown beside the control that is greyed out)."""

    raw_completion: str | None = None  # a prompt as is, without the chat template
    logprobs: str | None = None  # each token's probability and its alternatives
    grammar: str | None = None  # output held to a GBNF grammar
    json_schema: str | None = None  # output held to a JSON schema
    rendered_prompt: str | None = None  # the exact text the model is given
    forced_tokens: str | None = None  # an answer going on from a token the user chose
    # Token counts: None, exact; else why they are estimates (and shown as such).
    exact_token_counts: str | None = None


LOCAL_CAPABILITIES = Capabilities()  # llama.cpp in Lantern's own engine does all of it


class TextModel(Protocol):
    """A model ready to answer. `loaded` says what it is (its context window above all)."""

    @property
    def loaded(self) -> ModelLoaded: ...

    @property
    def capabilities(self) -> Capabilities: ...

    def generate(self, request: GenerationRequest) -> TextStream: ...

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes (an estimate where `capabilities.exact_token_counts` says so)."""
        ...

    def tokenize(self, text: str, *, add_special: bool = False) -> tuple[int, ...]: ...

    def render_chat(self, messages: tuple[ChatMessage, ...]) -> RenderedChat: ...
