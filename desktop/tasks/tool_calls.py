"""Function calling as text: the calls a model writes, read out of its answer as it streams,
and the form a call must take when the request insists on one.

A model writes its calls in the form its chat template teaches (protocol.ToolCallForm, told
from the template by engine/chat_template.py): Hermes' <tool_call> tags (Qwen 2 and later,
Hermes), Llama 3.1's bare JSON, Mistral's [TOOL_CALLS] before a list of calls or before each
call's name. tasks/tool_call_forms.py knows each form; one reader here reads them all.
Other families (Functionary's <function=...>, Qwen3-Coder's XML, Command R's actions) are not
read: the serving service refuses tools for a model whose template teaches one of those.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from desktop.engine.protocol import ChatMessage, OutputConstraint, Tool, ToolCall, ToolCallForm
from desktop.tasks.tool_call_forms import FORMS


@dataclass(frozen=True)
class ChosenFunction:
    """tool_choice naming one function: the answer is a call of it."""

    name: str


# "none": the model is given no tools and its answer is text; "auto": it may call some;
# "required": it calls one (any of them); ChosenFunction: it calls that one.
ToolChoice = Literal["none", "auto", "required"] | ChosenFunction
# What the reader makes of an answer: its text, and calls, in the order written.
Said = str | ToolCall


def insists_on_call(choice: ToolChoice) -> bool:
    """Whether `choice` has the answer be a call: "required" or a function named."""
    return isinstance(choice, ChosenFunction) or choice == "required"


def call_constraint(
    form: ToolCallForm, tools: Sequence[Tool], choice: ToolChoice
) -> OutputConstraint | None:
    """What holds the answer to a call, in `form`, where `choice` insists on one: a call of
    one of the functions (the chosen one) with arguments held to that function's schema.
    Even a small model then writes a call that can be made. None where the model chooses
    (or calls nothing). The chosen function is one of `tools`, and "required" comes with
    tools (the request was checked)."""
    if not insists_on_call(choice):
        return None
    chosen = [t for t in tools if not isinstance(choice, ChosenFunction) or t.name == choice.name]
    first, *others = (FORMS[form].constraint(tool) for tool in chosen)
    return dataclasses.replace(first, alternatives=tuple(others))


class ToolCallReader:
    """Reads an answer in `form`, piece by piece, as it streams. Its text goes on at once, but
    for what may be the start of a call, held back until it is known; calls come out whole
    once they end. What does not read as a call (broken JSON, JSON that is not a call, a call
    never ended) stays text, exactly as the model wrote it, markers and all.

    The blanks that lay calls out (the line breaks around each) are not text: an answer of
    calls alone has none. Any other text before, between or after calls is said, text on
    both sides of calls kept apart by the blanks that came before them. Ids are the form's
    (Mistral's templates take ids of their own shape) unless `new_id` makes them."""

    def __init__(self, form: ToolCallForm, new_id: Callable[[], str] | None = None) -> None:
        self._form = FORMS[form]
        self._new_id = new_id or self._form.new_call_id
        self._held = ""  # outside a call: text not said yet (trailing blanks, a marker's start)
        self._call: str | None = None  # inside a call: what follows its opening so far
        self._opening = ""  # that opening, as written: said if it opens no call after all
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
                found = self._form.opening_at(self._held, first=self._first)
                if found is None:
                    end = self._sayable_end()
                    said += self._say(self._held[:end])
                    self._held = self._held[end:]
                    return said
                start, end = found
                before = self._held[:start]
                said += self._say(before.rstrip())
                self._blank = before[len(before.rstrip()) :]
                self._opening, self._call = self._held[start:end], self._held[end:]
                self._held = ""
            call_end = self._form.call_end(self._call)
            if call_end is None:
                return said
            written = self._call[:call_end]
            self._held, self._call = self._call[call_end:], None
            calls = self._form.read(written)
            if calls is None:  # text after all, as written
                said += self._say(self._blank + self._opening + written)
            else:
                said += [
                    ToolCall(self._new_id(), name, json.dumps(arguments, ensure_ascii=False))
                    for name, arguments in calls
                ]
                self.calls += len(calls)
                if not self._after_call:  # the first of these calls
                    self._gap = self._blank
                self._after_call = True
            self._blank = ""

    def finish(self) -> list[Said]:
        """What is left to say once the answer is over: text held back, and a call never
        ended (the answer's length cut it off), as text."""
        if self._call is not None:
            rest = self._blank + self._opening + self._call
        else:  # blanks after the last call lay it out; an answer of text keeps its own
            rest = self._held.rstrip() if self.calls else self._held
        self._held, self._call, self._blank = "", None, ""
        return self._say(rest)

    @property
    def _first(self) -> bool:
        """Nothing has been said or called yet (a Llama 3 call is the answer's start)."""
        return not self._text_said and not self.calls

    def _sayable_end(self) -> int:
        """Where the held text that can be said now ends: before an ending that may begin
        an opening, and before the blanks that may come before a call."""
        end = self._form.may_open_from(self._held, first=self._first)
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


def read_tool_calls(
    form: ToolCallForm, pieces: Iterable[str], new_id: Callable[[], str] | None = None
) -> tuple[str, tuple[ToolCall, ...]]:
    """A whole answer's text outside its calls, and the calls, read as ToolCallReader reads
    it as it streams."""
    reader = ToolCallReader(form, new_id)
    said = [s for piece in pieces for s in reader.add(piece)] + reader.finish()
    text = "".join(s for s in said if isinstance(s, str))
    return text, tuple(s for s in said if isinstance(s, ToolCall))


def with_template_ids(
    form: ToolCallForm, messages: tuple[ChatMessage, ...]
) -> tuple[ChatMessage, ...]:
    """The conversation with its calls' ids as the model's template takes them: one begun with
    another model (or a client that made its own ids) goes on with this one."""
    to_template = FORMS[form].id_for_template

    def as_taken(message: ChatMessage) -> ChatMessage:
        if not message.tool_calls and message.tool_call_id is None:
            return message
        return dataclasses.replace(
            message,
            tool_calls=tuple(
                dataclasses.replace(call, id=to_template(call.id)) for call in message.tool_calls
            ),
            tool_call_id=(
                to_template(message.tool_call_id) if message.tool_call_id is not None else None
            ),
        )

    return tuple(as_taken(message) for message in messages)
