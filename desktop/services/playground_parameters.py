"""What a Playground run is asked with, and how it is saved: the prompt (raw or chat), the
sampling, the output constraint, how many alternatives to show per token; and the tokens
of an answer, with their alternatives, in the form the store keeps them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from desktop.engine.protocol import (
    ChatMessage,
    GeneratedToken,
    GenerationStats,
    OutputConstraint,
    Sampling,
    TokenChoice,
)
from desktop.tasks.sampling_fields import SAMPLING_FIELDS

PromptMode = Literal["raw", "chat"]
SAMPLING_NAMES = {f.name for f in fields(Sampling)}  # the table's, and "stop"
DEFAULT_ALTERNATIVES = 5
MAX_ALTERNATIVES = 20  # tokens shown per place: the Playground's and `lantern complete`'s


@dataclass(frozen=True)
class PlaygroundPrompt:
    """What the model is given: a raw prompt sent as is, or chat messages that the model's
    template renders. `setup` is the editor's state (template, variables, examples), saved
    with the run so that reopening it shows the prompt as it was written."""

    mode: PromptMode
    prompt: str = ""
    messages: tuple[ChatMessage, ...] = ()
    setup: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        text = (
            self.prompt
            if self.mode == "raw"
            else (self.messages[-1].content if self.messages else "")
        )
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        return (first[:80] + "…") if len(first) > 80 else (first or "Empty prompt")


@dataclass(frozen=True)
class PlaygroundParameters:
    sampling: Sampling = field(default_factory=Sampling)
    constraint: OutputConstraint | None = None
    alternatives: int = DEFAULT_ALTERNATIVES  # shown per token; 0: text only, no probabilities

    def as_json(self) -> dict[str, Any]:
        sampling = asdict(self.sampling)
        sampling["stop"] = list(self.sampling.stop)
        # A grammar or a JSON schema: the Playground's constraints have no framing texts.
        constraint = (
            {"kind": self.constraint.kind, "text": self.constraint.text}
            if self.constraint
            else None
        )
        return {"sampling": sampling, "constraint": constraint, "alternatives": self.alternatives}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlaygroundParameters:
        """Read back what as_json wrote; fields it does not know are left out, missing ones
        take their defaults (a preset from an older Lantern)."""
        sampling = {k: v for k, v in (data.get("sampling") or {}).items() if k in SAMPLING_NAMES}
        sampling["stop"] = tuple(sampling.get("stop") or ())
        constraint = data.get("constraint")
        return cls(
            Sampling(**sampling),
            OutputConstraint(constraint["kind"], constraint["text"]) if constraint else None,
            int(data.get("alternatives", DEFAULT_ALTERNATIVES)),
        )

    def with_recommended(self, recommended: tuple[tuple[str, float], ...]) -> PlaygroundParameters:
        """Sampling back to Lantern's defaults under what the model's makers recommend."""
        values: dict[str, Any] = {"max_tokens": self.sampling.max_tokens}
        for name, value in recommended:
            values[name] = int(value) if SAMPLING_FIELDS[name].whole else value
        return replace(self, sampling=Sampling(**values))


def token_as_json(token: GeneratedToken) -> list[Any]:
    """Compact: [id, text, logprob, [[id, text, logprob], ...], forced]."""
    choice = token.choice
    return [
        choice.token_id,
        choice.text,
        round(choice.logprob, 5),
        [[a.token_id, a.text, round(a.logprob, 5)] for a in token.alternatives],
        int(token.forced),
    ]


def token_from_json(data: list[Any]) -> GeneratedToken:
    token_id, text, logprob, alternatives, forced = data
    return GeneratedToken(
        TokenChoice(token_id, text, logprob),
        tuple(TokenChoice(*a) for a in alternatives),
        bool(forced),
    )


def stats_from_json(data: dict[str, Any] | None) -> GenerationStats | None:
    """A saved run's stats (which also hold the load time and how it ended)."""
    if not data:
        return None
    return GenerationStats(
        **{f.name: data[f.name] for f in fields(GenerationStats) if f.name in data}
    )
