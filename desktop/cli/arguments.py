"""What the command groups' parsers share: a group's own subcommands; numbers checked as
argparse reads them, so that a bad value ends the command before anything runs (exit 2) with a
message that says what fits; and the sampling flags, each made from its row of the one table
of sampling fields (`tasks/sampling_fields.py`), which gives its range, wording and help."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any, TypeAlias

from desktop.tasks.sampling_fields import SAMPLING_FIELDS, NumberRange

# What a command does with its parsed arguments: the exit code.
Handler: TypeAlias = Callable[[argparse.Namespace], int]
# The `lantern` parser's subcommands, which each group's add_commands adds to.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
RANDOM_SEED_HINT = "; leave it out for a random one"


def add_group(commands: Commands, name: str, help: str) -> Commands:
    """A command group (`lantern models ...`): its own subcommands; alone, it prints its help."""
    group = commands.add_parser(name, help=help)
    group.set_defaults(group_parser=group)
    return group.add_subparsers(title="commands", metavar="COMMAND")


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


def add_sampling_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    name: str,
    default: int | float | None,
    none_text: str = "",
) -> None:
    """`--<name>` for a sampling field: its range, its hint as help, and its default, said in
    the help as the number, or as `none_text` (what None means here)."""
    field = SAMPLING_FIELDS[name]
    said = none_text if default is None else f"{default:g}"
    parser.add_argument(
        f"--{name.replace('_', '-')}",
        metavar="N" if field.whole else "X",
        type=number_in(field, RANDOM_SEED_HINT if field.can_be_none else ""),
        default=default,
        help=f"{field.hint} ({field.bounds()}; default: {said})",
    )
