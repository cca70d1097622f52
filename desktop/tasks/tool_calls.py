"""Function calling as text: the calls a model writes, read out of its answer as it streams,
and the form a call must take when the request insists on one.

The form read is Hermes' (protocol.ToolCallForm "hermes"), which Qwen 2 and later, Hermes 2
and 3, QwQ and their many fine-tunes share, and their chat templates teach:

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Oslo"}}
    </tool_call>

Other families (Llama 3.1's bare JSON, Mistral's [TOOL_CALLS], Functionary's) are not read:
the serving service refuses tools for a model whose template teaches one of those.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from desktop.engine.protocol import OutputConstraint, Tool, ToolCall

CALL_OPENING = "<tool_call>"
CALL_CLOSING = "</tool_call>"
# The tags on lines of their own around the JSON, as the templates write a call.
_OPENING_LINE = CALL_OPENING + "\n"
_CLOSING_LINE = "\n" + CALL_CLOSING


@dataclass(frozen=True)
class ChosenFunction:
    """tool_choice naming one function: the answer is a call of it."""

    name: str


# "none": the model is given no tools and its answer is text; "auto": it may call some;
# "required": it calls one (any of them); ChosenFunction: it calls that one.
ToolChoice = Literal["none", "auto", "required"] | ChosenFunction
# What the reader makes of an answer: its text, and calls, in the order written.
Said = str | ToolCall


def new_call_id() -> str:
    """An id for a call, in OpenAI's form: the client hands it back with the call's result."""
    return "call_" + secrets.token_hex(12)


def call_constraint(tools: Sequence[Tool], choice: ToolChoice) -> OutputConstraint | None:
    """What holds the answer to a call where `choice` insists on one: its tags around JSON
    that names one of the functions (the chosen one) and gives arguments held to that
    function's schema. Even a small model then writes a call that can be made. None where
    the model chooses (or calls nothing). The chosen function is one of `tools`, and
    "required" comes with tools (the request was checked)."""
    if isinstance(choice, ChosenFunction):
        shapes = [_call_shape(tool) for tool in tools if tool.name == choice.name]
    elif choice == "required":
        shapes = [_call_shape(tool) for tool in tools]
    else:
        return None
    schema = shapes[0] if len(shapes) == 1 else {"anyOf": shapes}
    return OutputConstraint(
        "json_schema", json.dumps(schema), opening=_OPENING_LINE, closing=_CLOSING_LINE
    )


def _call_shape(tool: Tool) -> dict[str, object]:
    # Without a schema a function takes no arguments: {} is all it is given.
    arguments = (
        json.loads(tool.parameters)
        if tool.parameters is not None
        else {"type": "object", "properties": {}, "additionalProperties": False}
    )
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, "arguments": arguments},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


class ToolCallReader:
    """Reads an answer piece by piece, as it streams. Its text goes on at once, but for what
    may be the start of a call, held back until it is known; a call comes out whole once it
    closes. What does not read as a call (broken JSON, JSON that is not a call, a call never
    closed) stays text, exactly as the model wrote it, tags and all.

    The blanks that lay calls out (the line breaks around each) are not text: an answer of
    calls alone has none. Any other text before, between or after calls is said, text on
    both sides of calls kept apart by the blanks that came before them."""

    def __init__(self, new_id: Callable[[], str] = new_call_id) -> None:
        self._new_id = new_id
        self._held = ""  # outside a call: text not said yet (trailing blanks, a tag's start)
        self._call: str | None = None  # inside a call: what follows its opening tag so far
        self._blank = ""  # the blanks before that call: said only if it is no call after all
        self._after_call = False  # the text since the last call has not begun yet
        self._gap = ""  # the blanks before the latest calls, said if text follows them
        self._text_said = False
        self.calls = 0  # how many calls it has read

    def add(self, text: str) -> list[Said]:
        """What `text`, after all that came before it, lets be said now."""
        said: list[Said] = []
        if self._call is None:
            self._held += text
        else:
            self._call += text
        while True:
            if self._call is None:
                start = self._held.find(CALL_OPENING)
                if start < 0:
                    end = self._sayable_end()
                    said += self._say(self._held[:end])
                    self._held = self._held[end:]
                    return said
                before = self._held[:start]
                said += self._say(before.rstrip())
                self._blank = before[len(before.rstrip()) :]
                self._call = self._held[start + len(CALL_OPENING) :]
                self._held = ""
            end = self._call.find(CALL_CLOSING)
            if end < 0:
                return said
            body = self._call[:end]
            self._held, self._call = self._call[end + len(CALL_CLOSING) :], None
            call = self._read_call(body)
            if call is None:  # text after all, as written
                said += self._say(self._blank + CALL_OPENING + body + CALL_CLOSING)
            else:
                said.append(call)
                if not self._after_call:  # the first of these calls
                    self._gap = self._blank
                self._after_call = True
            self._blank = ""

    def finish(self) -> list[Said]:
        """What is left to say once the answer is over: text held back, and a call never
        closed (the answer's length cut it off), as text."""
        if self._call is not None:
            rest = self._blank + CALL_OPENING + self._call
        else:  # blanks after the last call lay it out; an answer of text keeps its own
            rest = self._held.rstrip() if self.calls else self._held
        self._held, self._call, self._blank = "", None, ""
        return self._say(rest)

    def _sayable_end(self) -> int:
        """Where the held text that can be said now ends: before an ending that may begin
        an opening tag, and before the blanks that may come before a call."""
        end = len(self._held)
        for length in range(min(len(CALL_OPENING) - 1, end), 0, -1):
            if CALL_OPENING.startswith(self._held[end - length :]):
                end -= length
                break
        return len(self._held[:end].rstrip())

    def _say(self, text: str) -> list[Said]:
        if self._after_call:  # the blanks after a call lay it out
            text = text.lstrip()
            if not text:
                return []
            self._after_call = False
            if self._text_said:
                text = self._gap + text
        self._text_said = self._text_said or bool(text)
        return [text] if text else []

    def _read_call(self, body: str) -> ToolCall | None:
        try:
            written = json.loads(body)
        except ValueError:
            return None
        if not isinstance(written, dict) or not isinstance(written.get("name"), str):
            return None
        arguments = written.get("arguments", {})
        if isinstance(arguments, str):  # some models write them as JSON in a string
            try:
                arguments = json.loads(arguments)
            except ValueError:
                return None
        if not isinstance(arguments, dict):
            return None
        self.calls += 1
        return ToolCall(self._new_id(), written["name"], json.dumps(arguments, ensure_ascii=False))


def read_tool_calls(
    pieces: Iterable[str], new_id: Callable[[], str] = new_call_id
) -> tuple[str, tuple[ToolCall, ...]]:
    """A whole answer's text outside its calls, and the calls, read as ToolCallReader reads
    it as it streams."""
    reader = ToolCallReader(new_id)
    said = [s for piece in pieces for s in reader.add(piece)] + reader.finish()
    text = "".join(s for s in said if isinstance(s, str))
    return text, tuple(s for s in said if isinstance(s, ToolCall))
