"""Argument types the command groups share: numbers checked as argparse reads them, so that a
bad value ends the command before anything runs (exit 2) with a message that says what fits;
and the sampling flags, each made from its row of the one table of sampling fields
(`tasks/sampling_limits.py`), which also gives its range, wording and help."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from desktop.tasks.sampling_limits import SAMPLING_RANGES, NumberRange, SamplingField

RANDOM_SEED_HINT = "; leave it out for a random one"


def number_in(allowed: NumberRange, hint: str = "") -> Callable[[str], Any]:
    """An argparse type: a number that `allowed` holds (an int if it is whole, else a float)."""
    name = "a whole number" if allowed.whole else "a number"

    def parse(text: str) -> int | float:
        try:
            value = int(text) if allowed.whole else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {name}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"'{text}' is not {name}")
        if not allowed.holds(value):
            raise argparse.ArgumentTypeError(f"{text} is out of range: {allowed.bounds()}{hint}")
        return value

    return parse


positive_int = number_in(NumberRange(whole=True, low=1, high=math.inf))


def sampling_value(field: SamplingField) -> Callable[[str], Any]:
    """An argparse type for a sampling field, as the table allows it (None: leave it out)."""
    return number_in(field, RANDOM_SEED_HINT if field.can_be_none else "")


def add_sampling_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    name: str,
    default: int | float | None,
    none_text: str = "",
) -> None:
    """`--<name>` for a sampling field: its range, its hint as help, and its default, said in
    the help as the number, or as `none_text` (what None means here)."""
    field = SAMPLING_RANGES[name]
    said = none_text if default is None else f"{default:g}"
    parser.add_argument(
        f"--{name.replace('_', '-')}",
        metavar="N" if field.whole else "X",
        type=sampling_value(field),
        default=default,
        help=f"{field.hint} ({field.bounds()}; default: {said})",
    )
