"""The forms in which models write a call of a tool, as their chat templates teach them: where
a call opens in an answer, where it ends, what it calls, and the shape a call of a given tool
takes where a request insists on one. tasks/tool_calls.py streams answers through them.

- "hermes" (Qwen 2 and later, Hermes 2 and 3, QwQ): JSON between tags, anywhere in the
  answer, as many calls as the model makes:

      <tool_call>
      {"name": "get_weather", "arguments": {"city": "Oslo"}}
      </tool_call>

- "llama3" (Llama 3.1, 3.2, 3.3): the answer begins with one call, a bare JSON object (at
  times after <|python_tag|>); what follows it is text. As llama.cpp reads it: one call, at
  the very start, with "parameters" (or "arguments"), and an optional "type": "function".

      {"name": "get_weather", "parameters": {"city": "Oslo"}}

- "mistral" (Mistral 7B Instruct v0.3, Mistral Nemo, Mistral Small 3.1): a JSON list of
  calls after a marker, anywhere in the answer:

      [TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo"}}]

- "mistral_args" (Mistral Small 3.2, Devstral, Ministral 3): the marker, the name and the
  arguments, call after call; Small 3.2 writes a [CALL_ID] before [ARGS], read and let go:

      [TOOL_CALLS]get_weather[ARGS]{"city": "Oslo"}

The markers are special tokens, which the engine writes out where tools are offered
(protocol.TOOL_CALL_MARKERS).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from abc import ABC, abstractmethod
from typing import Any

from desktop.engine.protocol import (
    HERMES_CALL_CLOSING,
    HERMES_CALL_OPENING,
    LLAMA3_PYTHON_TAG,
    MISTRAL_ARGS,
    MISTRAL_CALL_ID,
    MISTRAL_TOOL_CALLS,
    OutputConstraint,
    Tool,
    ToolCallForm,
)

# A call as read: the function's name and its arguments.
Called = tuple[str, dict[str, Any]]

# A JSON string (to its closing quote, or to the end of the text if it has none yet), or a
# bracket: what tells where a JSON object or list ends.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)
# A function's name (or a call's id) as OpenAI's API takes one.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# What comes between Mistral's [TOOL_CALLS] and a call's arguments.
_NAMED_CALL = re.compile(
    rf"({_NAME.pattern})(?:{re.escape(MISTRAL_CALL_ID)}{_NAME.pattern})?{re.escape(MISTRAL_ARGS)}"
)
_MISTRAL_ID_CHARACTERS = string.ascii_letters + string.digits
_MISTRAL_ID = re.compile(r"[A-Za-z0-9]{9}")
# What a function without a schema is given: no arguments.
_NO_ARGUMENTS = {"type": "object", "properties": {}, "additionalProperties": False}


class CallForm(ABC):
    """A form of tool call: read from an answer (`opening_at`, `call_end`, `read`) and made
    (`constraint`, `new_call_id`)."""

    opening = ""  # the marker that opens a call

    def new_call_id(self) -> str:
        """An id for a call, in OpenAI's form: the client hands it back with the call's result."""
        return "call_" + secrets.token_hex(12)

    def id_for_template(self, call_id: str) -> str:
        """A call's id, handed back by a client, as the template takes it: as given."""
        return call_id

    def opening_at(self, held: str, *, first: bool) -> tuple[int, int] | None:
        """Where a call opens in `held` (text not said yet): where its opening begins and
        ends. `first`: nothing has been said or called before `held`."""
        start = held.find(self.opening)
        return None if start < 0 else (start, start + len(self.opening))

    def may_open_from(self, held: str, *, first: bool) -> int:
        """Where the end of `held` may be the start of an opening not yet whole (its length
        where it cannot be)."""
        for length in range(min(len(self.opening) - 1, len(held)), 0, -1):
            if self.opening.startswith(held[-length:]):
                return len(held) - length
        return len(held)

    @abstractmethod
    def call_end(self, written: str) -> int | None:
        """Where what follows an opening (`written`, so far) ends as a call: known as soon as
        the answer cannot change it, or where it became clear that no call is written (then
        the opening is text, and the rest is read afresh). None while that is not known."""

    @abstractmethod
    def read(self, written: str) -> list[Called] | None:
        """The calls written after an opening (`written`, to its call_end); None where it
        does not read as calls."""

    @abstractmethod
    def constraint(self, tool: Tool) -> OutputConstraint:
        """A call of `tool` as a request that insists on one holds the answer to it: its
        arguments held to the tool's schema."""


class HermesForm(CallForm):
    opening = HERMES_CALL_OPENING

    def call_end(self, written: str) -> int | None:
        end = written.find(HERMES_CALL_CLOSING)
        return None if end < 0 else end + len(HERMES_CALL_CLOSING)

    def read(self, written: str) -> list[Called] | None:
        call = _json(written.removesuffix(HERMES_CALL_CLOSING))
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            return None
        arguments = _arguments(call.get("arguments", {}))  # left out: none
        return None if arguments is None else [(call["name"], arguments)]

    def constraint(self, tool: Tool) -> OutputConstraint:
        # The tags on lines of their own around the JSON, as the templates write a call.
        return _json_constraint(
            _named_call_schema(tool, "arguments"),
            opening=HERMES_CALL_OPENING + "\n",
            closing="\n" + HERMES_CALL_CLOSING,
        )


class Llama3Form(CallForm):
    """The opening is the answer's start (its first non-blank), <|python_tag|> or the JSON
    object's brace; after anything said or called, nothing opens a call."""

    opening = LLAMA3_PYTHON_TAG
    _CALL_KEYS = ({"name", "parameters"}, {"name", "arguments"})

    def opening_at(self, held: str, *, first: bool) -> tuple[int, int] | None:
        if not first:
            return None
        start = len(held) - len(held.lstrip())
        if held.startswith(LLAMA3_PYTHON_TAG, start):
            return start, start + len(LLAMA3_PYTHON_TAG)
        return (start, start) if held.startswith("{", start) else None

    def may_open_from(self, held: str, *, first: bool) -> int:
        start = len(held) - len(held.lstrip())
        return start if first and LLAMA3_PYTHON_TAG.startswith(held[start:]) else len(held)

    def call_end(self, written: str) -> int | None:
        return _json_end(written, "{")

    def read(self, written: str) -> list[Called] | None:
        call = _json(written)
        if not isinstance(call, dict) or call.get("type", "function") != "function":
            return None
        keys = call.keys() - {"type"}
        if keys not in self._CALL_KEYS or not isinstance(call["name"], str):
            return None
        arguments = _arguments(call.get("parameters", call.get("arguments")))
        return None if arguments is None else [(call["name"], arguments)]

    def constraint(self, tool: Tool) -> OutputConstraint:
        return _json_constraint(_named_call_schema(tool, "parameters"))


class MistralMarkedForm(CallForm, ABC):
    """Mistral's forms: calls after the [TOOL_CALLS] marker, with ids of 9 letters or digits,
    the only ones its templates take."""

    opening = MISTRAL_TOOL_CALLS

    def new_call_id(self) -> str:
        return _mistral_call_id()

    def id_for_template(self, call_id: str) -> str:
        return _mistral_id_for(call_id)


class MistralForm(MistralMarkedForm):
    def call_end(self, written: str) -> int | None:
        return _json_end(written, "[")

    def read(self, written: str) -> list[Called] | None:
        calls = _json(written)
        if not isinstance(calls, list) or not calls:
            return None
        read: list[Called] = []
        for call in calls:
            if not isinstance(call, dict) or not isinstance(call.get("name"), str):
                return None
            arguments = _arguments(call.get("arguments"))
            if arguments is None:
                return None
            read.append((call["name"], arguments))
        return read

    def constraint(self, tool: Tool) -> OutputConstraint:
        return _json_constraint(
            _named_call_schema(tool, "arguments"), opening=MISTRAL_TOOL_CALLS + "[", closing="]"
        )


class MistralArgsForm(MistralMarkedForm):
    def call_end(self, written: str) -> int | None:
        named = _NAMED_CALL.match(written)
        if named is None:
            return None if _may_name_a_call(written) else 0
        end = _json_end(written[named.end() :], "{")
        return None if end is None else named.end() + end

    def read(self, written: str) -> list[Called] | None:
        named = _NAMED_CALL.match(written)
        arguments = _arguments(_json(written[named.end() :])) if named else None
        return None if named is None or arguments is None else [(named[1], arguments)]

    def constraint(self, tool: Tool) -> OutputConstraint:
        return _json_constraint(
            _arguments_schema(tool), opening=f"{MISTRAL_TOOL_CALLS}{tool.name}{MISTRAL_ARGS}"
        )


FORMS: dict[ToolCallForm, CallForm] = {
    "hermes": HermesForm(),
    "llama3": Llama3Form(),
    "mistral": MistralForm(),
    "mistral_args": MistralArgsForm(),
}


def _mistral_call_id() -> str:
    # Mistral's templates refuse a conversation whose call ids are not 9 letters or digits.
    return "".join(secrets.choice(_MISTRAL_ID_CHARACTERS) for _ in range(9))


def _mistral_id_for(call_id: str) -> str:
    """An id another model or client made (`call_...`, a conversation begun elsewhere) as
    Mistral's templates take one: 9 letters or digits drawn from it, the same wherever it
    appears, so that a call and its result stay paired."""
    if _MISTRAL_ID.fullmatch(call_id):
        return call_id
    digest = hashlib.sha256(call_id.encode()).digest()
    letters = _MISTRAL_ID_CHARACTERS
    return "".join(letters[byte % len(letters)] for byte in digest[:9])


def _json_end(text: str, bracket: str) -> int | None:
    """Where the JSON object or list that `text` opens (after blanks) with `bracket` ends,
    once its brackets have closed; None until then. Where the text opens with anything else,
    where that is: no such JSON is written. Whether it is valid JSON is json.loads's to say."""
    start = len(text) - len(text.lstrip())
    if start == len(text):
        return None
    if text[start] != bracket:
        return start
    depth = 0
    for token in _JSON_TOKEN.finditer(text, start):
        if token[0] in ("[", "{"):
            depth += 1
        elif token[0] in ("]", "}"):
            depth -= 1
            if depth == 0:
                return token.end()
    return None


def _may_name_a_call(text: str) -> bool:
    """Whether `text` may yet become what comes between [TOOL_CALLS] and a call's arguments:
    a name, [CALL_ID] and an id at times, and [ARGS]."""
    name, bracket, rest = text.partition("[")
    if not bracket:
        return not name or _NAME.fullmatch(name) is not None
    if _NAME.fullmatch(name) is None:
        return False
    rest = bracket + rest
    if MISTRAL_ARGS.startswith(rest) or MISTRAL_CALL_ID.startswith(rest):
        return True
    if not rest.startswith(MISTRAL_CALL_ID):
        return False
    call_id, bracket, rest = rest.removeprefix(MISTRAL_CALL_ID).partition("[")
    if not bracket:
        return not call_id or _NAME.fullmatch(call_id) is not None
    return _NAME.fullmatch(call_id) is not None and MISTRAL_ARGS.startswith(bracket + rest)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _arguments(written: Any) -> dict[str, Any] | None:
    """A call's arguments as an object: some models write them as JSON in a string."""
    if isinstance(written, str):
        written = _json(written)
    return written if isinstance(written, dict) else None


def _arguments_schema(tool: Tool) -> Any:
    return json.loads(tool.parameters) if tool.parameters is not None else _NO_ARGUMENTS


def _named_call_schema(tool: Tool, arguments_key: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, arguments_key: _arguments_schema(tool)},
        "required": ["name", arguments_key],
        "additionalProperties": False,
    }


def _json_constraint(schema: Any, *, opening: str = "", closing: str = "") -> OutputConstraint:
    return OutputConstraint("json_schema", json.dumps(schema), opening=opening, closing=closing)
