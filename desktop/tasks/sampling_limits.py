"""The sampling settings a conversation may set for itself, each with the values it may take,
and the context policies: one table for an imported file, `ChatService.set_parameters` and a
conversation read back from the store.

The ranges are those the app's own controls allow (the conversation settings dialog, the
Playground's parameters and `lantern complete`), so that whatever Lantern stored passes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

from desktop.engine.protocol import ContextPolicy

CONTEXT_POLICIES: tuple[str, ...] = get_args(ContextPolicy)
DEFAULT_CONTEXT_POLICY: ContextPolicy = "drop_middle"
LARGEST_SEED = 2**31 - 1


@dataclass(frozen=True)
class SamplingRange:
    """What one sampling setting may hold: a number (a whole one if `whole`) from `low` to
    `high`, or None where the setting allows it (the seed: None is a new one each time)."""

    whole: bool
    low: float
    high: float
    can_be_none: bool = False

    def describe(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        text = f"{kind} from {_shown(self.low)} to {_shown(self.high)}"
        return f"{text}, or null" if self.can_be_none else text

    def allows(self, value: Any) -> bool:
        if value is None:
            return self.can_be_none
        if not _is_number(value) or (self.whole and not isinstance(value, int)):
            return False
        return self.low <= value <= self.high

    def nearest(self, value: Any) -> int | float | None:
        """The allowed value closest to a stored one; None when it is no number at all."""
        if not _is_number(value) or math.isnan(value):
            return None
        clamped = min(max(value, self.low), self.high)
        return round(clamped) if self.whole else float(clamped)


# Every Sampling field but the stop sequences, which are the Playground's (a unit test keeps
# this table and Sampling in step).
SAMPLING_RANGES: dict[str, SamplingRange] = {
    "max_tokens": SamplingRange(whole=True, low=1, high=131_072),
    "temperature": SamplingRange(whole=False, low=0, high=5),
    "top_p": SamplingRange(whole=False, low=0, high=1),
    "top_k": SamplingRange(whole=True, low=0, high=1000),
    "min_p": SamplingRange(whole=False, low=0, high=1),
    "typical_p": SamplingRange(whole=False, low=0, high=1),
    "repeat_penalty": SamplingRange(whole=False, low=0, high=3),
    "presence_penalty": SamplingRange(whole=False, low=-2, high=2),
    "frequency_penalty": SamplingRange(whole=False, low=-2, high=2),
    "mirostat": SamplingRange(whole=True, low=0, high=2),
    "mirostat_tau": SamplingRange(whole=False, low=0, high=20),
    "mirostat_eta": SamplingRange(whole=False, low=0, high=1),
    "seed": SamplingRange(whole=True, low=0, high=LARGEST_SEED, can_be_none=True),
}


def sampling_problem(name: str, value: Any) -> str | None:
    """Why a conversation cannot use this sampling setting, in words; None if it can."""
    limits = SAMPLING_RANGES.get(name)
    if limits is None:
        return f"'{name}' is not a sampling setting (known: {', '.join(SAMPLING_RANGES)})"
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
        limits = SAMPLING_RANGES.get(name)
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
