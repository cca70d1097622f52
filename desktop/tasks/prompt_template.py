"""Playground prompt templates: `{name}` variables the user fills in before a run.

Only `{identifier}` is a variable. Anything else in braces (`{"a": 1}`, `{}`, `{1}`) stays as
written, because prompts often hold JSON; `{{name}}` is the way to write a literal `{name}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from desktop.errors import LanternError

# An escaped `{{name}}` is tried first, so that its inner `{name}` is never read as a variable.
_ESCAPED_OR_VARIABLE = re.compile(
    r"\{\{(?P<escaped>[A-Za-z_][A-Za-z0-9_]*)\}\}|\{(?P<variable>[A-Za-z_][A-Za-z0-9_]*)\}"
)


class MissingVariables(LanternError, ValueError):
    """The template has variables that were given no value."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        super().__init__(f"Fill in the template's variables: {', '.join(self.names)}.")


def template_variables(text: str) -> list[str]:
    """The variable names in `text`, in order of first appearance, each once."""
    names = (match["variable"] for match in _ESCAPED_OR_VARIABLE.finditer(text))
    return list(dict.fromkeys(name for name in names if name is not None))


def fill_template(text: str, values: Mapping[str, str]) -> str:
    """`text` with every variable replaced by its value (an empty value is allowed) and every
    `{{name}}` turned into `{name}`. The values themselves are not read for variables."""
    missing = [name for name in template_variables(text) if name not in values]
    if missing:
        raise MissingVariables(missing)

    def replacement(match: re.Match[str]) -> str:
        if match["escaped"] is not None:
            return "{" + match["escaped"] + "}"
        return values[match["variable"]]

    return _ESCAPED_OR_VARIABLE.sub(replacement, text)
