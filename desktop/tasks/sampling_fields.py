"""The one table of sampling fields: each setting's label, hint, the values it may take, the
step a control moves by, and its default; and the context policies.

Every surface derives from it: the conversation settings dialog's and the Playground's spin
boxes (`ui/widgets/sampling_spin_box.py`), the flags of `lantern chat` and `lantern complete`
(`cli/arguments.py`), `ChatService.set_parameters`, an imported conversation file and a
conversation read back from the store. So whatever one surface lets a user set, the others
accept, and a stored value that no longer fits is brought within its range when read.

The ranges are the widest llama.cpp accepts that still make sense: a repeat penalty of 0
would divide by zero in llama.cpp, and one far from 1 breaks the text down; top-k above
1,000 changes nothing another sampler would not; an answer is at most 131,072 tokens, the
largest context window the catalog's models have."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args, get_type_hints

from desktop.engine.protocol import ContextPolicy, Sampling

CONTEXT_POLICIES: tuple[str, ...] = get_args(ContextPolicy)
DEFAULT_CONTEXT_POLICY: ContextPolicy = "drop_middle"
LARGEST_SEED = 2**31 - 1
# Defaults and kinds (whole number or not, None allowed or not) live with the engine's
# request, in one place.
_ENGINE_DEFAULTS = Sampling()
_ENGINE_TYPES = get_type_hints(Sampling)


@dataclass(frozen=True)
class NumberRange:
    """The numbers a setting may hold: whole ones only if `whole`, from `low` to `high`."""

    whole: bool
    low: float
    high: float  # math.inf: no upper bound

    def bounds(self) -> str:
        """The range in words: "a number from 0 to 5", "a whole number at least 1"."""
        kind = "a whole number" if self.whole else "a number"
        if math.isinf(self.high):
            return f"{kind} at least {_shown(self.low)}"
        return f"{kind} from {_shown(self.low)} to {_shown(self.high)}"

    def holds(self, value: Any) -> bool:
        if not _is_number(value) or (self.whole and not isinstance(value, int)):
            return False
        return self.low <= value <= self.high


@dataclass(frozen=True)
class SamplingField(NumberRange):
    """One sampling setting (a `Sampling` field): what it is called and what it does, for a
    user; the numbers it may hold, and whether it may be None (the seed: None is a new one
    each time); the step a control moves it by."""

    name: str
    label: str
    hint: str
    step: float
    can_be_none: bool

    @property
    def default(self) -> Any:
        """The engine's default for it, which a conversation or run gets unless it sets one."""
        return getattr(_ENGINE_DEFAULTS, self.name)

    @property
    def decimals(self) -> int:
        """How many decimals a control shows: none for a whole number, else two."""
        return 0 if self.whole else 2

    def describe(self) -> str:
        """The values as a stored or imported setting may hold them (None written as null)."""
        return f"{self.bounds()}, or null" if self.can_be_none else self.bounds()

    def allows(self, value: Any) -> bool:
        return self.can_be_none if value is None else self.holds(value)

    def nearest(self, value: Any) -> int | float | None:
        """The allowed value closest to a stored one; None when it is no number at all."""
        if not _is_number(value) or math.isnan(value):
            return None
        clamped = min(max(value, self.low), self.high)
        return round(clamped) if self.whole else float(clamped)


def _field(name: str, label: str, hint: str, low: float, high: float, step: float) -> SamplingField:
    """A row of the table; whether the value is whole and may be None is the engine's type."""
    kind = _ENGINE_TYPES[name]
    return SamplingField(
        whole=kind is int or int in get_args(kind),
        low=low,
        high=high,
        name=name,
        label=label,
        hint=hint,
        step=step,
        can_be_none=type(None) in get_args(kind),
    )


# Every Sampling field but the stop sequences, which are the Playground's (a unit test keeps
# this table and Sampling in step), in the order the Playground shows them.
SAMPLING_FIELDS: dict[str, SamplingField] = {
    f.name: f
    for f in (
        _field("max_tokens", "Max answer length",
               "The longest answer, in tokens (a token is about three quarters of a word). "
               "The answer also ends at the model's end of text or a stop sequence.",
               1, 131_072, 128),
        _field("temperature", "Temperature",
               "How adventurous sampling is: 0 always takes the likeliest token (the same "
               "answer every time); 0.7 is balanced; above 1 gets wild.",
               0, 5, 0.05),
        _field("top_p", "Top-p",
               "Only the likeliest tokens whose probabilities add up to this (nucleus "
               "sampling); 1 turns it off.",
               0, 1, 0.01),
        _field("top_k", "Top-k",
               "Only this many of the likeliest tokens are considered; 0 turns it off.",
               0, 1000, 1),
        _field("min_p", "Min-p",
               "Leaves out tokens less likely than this share of the likeliest one's "
               "probability; 0 turns it off.",
               0, 1, 0.01),
        _field("typical_p", "Typical-p",
               "Locally typical sampling: keeps the tokens whose surprise is close to the "
               "average; 1 turns it off.",
               0, 1, 0.01),
        _field("repeat_penalty", "Repeat penalty",
               "Makes tokens already in the recent text less likely: 1 turns it off, 1.1 is "
               "a light touch, below 1 encourages repeats.",
               0.5, 3, 0.05),
        _field("presence_penalty", "Presence penalty",
               "Lowers the odds of any token that already appeared, once (OpenAI-style): 0 "
               "turns it off, below 0 encourages repeats.",
               -2, 2, 0.05),
        _field("frequency_penalty", "Frequency penalty",
               "Lowers the odds of a token more each time it appears (OpenAI-style): 0 turns "
               "it off.",
               -2, 2, 0.05),
        _field("mirostat", "Mirostat",
               "The Mirostat version: it steers sampling to a steady level of surprise "
               "instead of top-k, top-p, min-p and typical-p, which it replaces; 0 turns it "
               "off.",
               0, 2, 1),
        _field("mirostat_tau", "Mirostat tau",
               "Mirostat's target surprise: lower is more focused, higher more varied.",
               0, 20, 0.5),
        _field("mirostat_eta", "Mirostat eta",
               "How fast Mirostat adjusts to reach its target.",
               0, 1, 0.01),
        _field("seed", "Seed",
               "The random seed: the same seed and settings give the same answer; without "
               "one, each answer gets a new seed.",
               0, LARGEST_SEED, 1),
    )
}  # fmt: skip


def sampling_problem(name: str, value: Any) -> str | None:
    """Why a conversation cannot use this sampling setting, in words; None if it can."""
    limits = SAMPLING_FIELDS.get(name)
    if limits is None:
        return f"'{name}' is not a sampling setting (known: {', '.join(SAMPLING_FIELDS)})"
    if not limits.allows(value):
        return f"'{name}' must be {limits.describe()}"
    return None


def usable_sampling(stored: Any) -> tuple[dict[str, Any], list[str]]:
    """The sampling settings of a stored conversation that can be used, brought within their
    ranges, and a note for each that was left out or changed (a row written by an older
    Lantern, or by hand)."""
    if stored is None:
        return {}, []
    if not isinstance(stored, Mapping):
        return {}, [f"sampling {stored!r} is not a set of settings"]
    usable: dict[str, Any] = {}
    notes: list[str] = []
    for name, value in stored.items():
        limits = SAMPLING_FIELDS.get(name)
        if limits is None:
            notes.append(f"{name!r} is not a sampling setting")
        elif limits.allows(value):
            usable[name] = value
        elif (nearest := limits.nearest(value)) is not None:
            usable[name] = nearest
            notes.append(f"{name} {value!r} taken as {nearest!r}")
        else:
            notes.append(f"{name} {value!r} is not a number")
    return usable, notes


def usable_context_policy(stored: Any) -> ContextPolicy:
    """A stored context policy, or the default one in place of one Lantern does not know."""
    return stored if stored in CONTEXT_POLICIES else DEFAULT_CONTEXT_POLICY


def _shown(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
