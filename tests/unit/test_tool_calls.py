"""Tool calls in Hermes' form read out of a model's answer (desktop/tasks/tool_calls.py),
whole or as it streams in pieces of any size, and the constraint that holds an answer to a
call. The other forms: test_tool_call_forms.py."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from tool_call_strategies import JSON_VALUES

from desktop.engine.protocol import HERMES_CALL_CLOSING as CALL_CLOSING
from desktop.engine.protocol import HERMES_CALL_OPENING as CALL_OPENING
from desktop.engine.protocol import Tool, ToolCall
from desktop.tasks.tool_calls import (
    ChosenFunction,
    ToolCallReader,
    call_constraint,
    read_tool_calls,
)


def numbered_ids() -> Any:
    counter = itertools.count(1)
    return lambda: f"call_{next(counter)}"


def read(text: str, *cuts: int) -> tuple[str, tuple[ToolCall, ...]]:
    """`text` read in pieces cut at `cuts`, with ids call_1, call_2..."""
    bounds = [0, *sorted(cuts), len(text)]
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    return read_tool_calls("hermes", pieces, numbered_ids())


def written(name: str, arguments: dict[str, Any]) -> str:
    """A call as Qwen's template teaches the model to write it."""
    return f"{CALL_OPENING}\n{json.dumps({'name': name, 'arguments': arguments})}\n{CALL_CLOSING}"


def test_a_call_alone_is_a_call_and_no_text() -> None:
    text = written("get_weather", {"city": "Oslo"}) + "\n"
    assert read(text) == ("", (ToolCall("call_1", "get_weather", '{"city": "Oslo"}'),))


def test_text_around_calls_is_kept_and_several_calls_are_read_in_order() -> None:
    text = (
        "Let me look.\n"
        + written("get_weather", {"city": "Oslo"})
        + "\n"
        + written("get_time", {"zone": "CET", "exact": True})
        + "\nBoth asked."
    )
    content, calls = read(text, 5, 20, 40, 80)
    assert content == "Let me look.\nBoth asked."
    assert [(c.id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("call_1", "get_weather", {"city": "Oslo"}),
        ("call_2", "get_time", {"zone": "CET", "exact": True}),
    ]


def test_what_does_not_read_as_a_call_stays_text_as_written() -> None:
    for text in (
        f"Here: {CALL_OPENING}{{'name': 'single quotes'}}{CALL_CLOSING} done",  # not JSON
        f"{CALL_OPENING}\n[1, 2]\n{CALL_CLOSING}",  # JSON, not a call
        f'{CALL_OPENING}{{"name": 5}}{CALL_CLOSING}',
        f'{CALL_OPENING}{{"name": "f", "arguments": [1]}}{CALL_CLOSING}',
        f'{CALL_OPENING}{{"name": "f", "arguments": "not json"}}{CALL_CLOSING}',
        f'Cut off: {CALL_OPENING}\n{{"name": "f", "argu',  # the answer's length ended it
        "A <tool_ca",  # a tag's start, at the very end
        f"{CALL_CLOSING} without an opening",
    ):
        assert read(text) == (text, ()), text


def test_arguments_written_as_json_text_or_left_out_are_an_object() -> None:
    _, calls = read(
        f'{CALL_OPENING}{{"name": "f", "arguments": "{{\\"a\\": 1}}"}}{CALL_CLOSING}'
        f'{CALL_OPENING}{{"name": "g"}}{CALL_CLOSING}'
    )
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("f", {"a": 1}), ("g", {})]


def test_text_is_said_at_once_but_what_may_open_a_call() -> None:
    reader = ToolCallReader("hermes", numbered_ids())
    assert reader.add("Hello") == ["Hello"]
    assert reader.add(" there <tool") == [" there"]  # " <tool" may open a call
    assert reader.add("box>") == [" <toolbox>"]
    assert reader.add("\n<tool_call>\n") == []
    assert reader.add('{"name": "f", "arguments": {}}\n</tool_') == []
    assert reader.add("call>") == [ToolCall("call_1", "f", "{}")]
    assert reader.finish() == []
    assert reader.calls == 1


# Text of any kind, tags and their pieces included, but without a double quote: no JSON
# object with a name (a call) can be made of it.
_PIECES = st.sampled_from(
    [CALL_OPENING, CALL_CLOSING, "<tool", "_call>", "</", "<", ">", "{", "}", "\n", " ", "[1]"]
)
NO_CALLS = st.lists(
    st.one_of(_PIECES, st.text(st.characters(blacklist_characters='"'), max_size=8)), max_size=12
).map("".join)
CALLS = st.lists(
    st.tuples(
        st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=10),
        st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3),
    ),
    min_size=1,
    max_size=4,
)
# Text between calls: no tag can be made of it.
PLAIN = st.text(st.characters(blacklist_characters="<"), max_size=12)


@given(NO_CALLS, st.lists(st.integers(0, 200), max_size=6))
def test_an_answer_without_calls_is_its_text_exactly_however_it_streams(
    text: str, cuts: list[int]
) -> None:
    assert read(text, *(c % (len(text) + 1) for c in cuts)) == (text, ())


@given(
    st.text(max_size=80) | NO_CALLS,
    CALLS,
    st.lists(st.integers(0, 400), max_size=8),
)
def test_pieces_of_any_size_read_as_the_whole_text(
    text: str, calls: list[tuple[str, dict[str, Any]]], cuts: list[int]
) -> None:
    # Text, with calls put in it, read whole and cut anywhere.
    whole = text + "".join(written(name, arguments) for name, arguments in calls) + text
    assert read(whole, *(c % (len(whole) + 1) for c in cuts)) == read(whole)


@given(st.lists(PLAIN, min_size=5, max_size=5), CALLS)
def test_calls_among_text_are_read_and_the_text_around_them_kept(
    texts: list[str], calls: list[tuple[str, dict[str, Any]]]
) -> None:
    answer = texts[0]
    for (name, arguments), after in zip(calls, texts[1:], strict=False):
        answer += written(name, arguments) + after
    content, read_calls = read(answer, len(answer) // 3, len(answer) // 2)
    assert [(c.name, json.loads(c.arguments)) for c in read_calls] == calls
    said = texts[: len(calls) + 1]
    # Every character of the text is kept, in order, but blanks that lay the calls out.
    assert "".join(content.split()) == "".join("".join(said).split())
    assert content == content.rstrip()  # the blanks after the last call lay it out


def test_a_chosen_function_or_any_is_the_answers_one_form() -> None:
    light = Tool("light", None, json.dumps({"type": "object", "properties": {}}))
    ring = Tool("ring", "Ring the bell.", None)
    assert call_constraint("hermes", [light, ring], "auto") is None
    assert call_constraint("hermes", [light, ring], "none") is None
    chosen = call_constraint("hermes", [light, ring], ChosenFunction("ring"))
    assert chosen is not None and chosen.kind == "json_schema" and not chosen.alternatives
    assert (chosen.opening, chosen.closing) == ("<tool_call>\n", "\n</tool_call>")
    schema = json.loads(chosen.text)
    assert schema["properties"]["name"] == {"const": "ring"}
    # No parameters: it takes none, {} is all it is given.
    assert schema["properties"]["arguments"]["additionalProperties"] is False
    either = call_constraint("hermes", [light, ring], "required")
    assert either is not None
    names = [
        json.loads(c.text)["properties"]["name"]["const"] for c in (either, *either.alternatives)
    ]
    assert names == ["light", "ring"]
