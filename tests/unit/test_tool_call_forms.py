"""Tool calls in Llama 3's and Mistral's forms read out of a model's answer
(desktop/tasks/tool_call_forms.py through tasks/tool_calls.py's reader), whole or as it
streams cut anywhere; the ids each form's calls get; the constraint that holds an answer to a
call in each form. Hermes' form: test_tool_calls.py."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tool_call_strategies import JSON_VALUES

from desktop.engine.protocol import ChatMessage, Tool, ToolCall, ToolCallForm
from desktop.tasks.tool_calls import (
    ChosenFunction,
    call_constraint,
    read_tool_calls,
    with_template_ids,
)


def numbered_ids() -> Any:
    counter = itertools.count(1)
    return lambda: f"call_{next(counter)}"


def read(form: ToolCallForm, text: str, *cuts: int) -> tuple[str, tuple[ToolCall, ...]]:
    """`text` read in pieces cut at `cuts`, with ids call_1, call_2..."""
    bounds = [0, *sorted(cuts), len(text)]
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    return read_tool_calls(form, pieces, numbered_ids())


def read_cut_everywhere(form: ToolCallForm, text: str) -> tuple[str, tuple[ToolCall, ...]]:
    """`text` read whole; asserted to read the same cut once or twice at every place."""
    whole = read(form, text)
    for first, second in itertools.combinations_with_replacement(range(len(text) + 1), 2):
        assert read(form, text, first, second) == whole, (text, first, second)
    return whole


def calls(*made: tuple[str, dict[str, Any]]) -> tuple[ToolCall, ...]:
    return tuple(
        ToolCall(f"call_{n}", name, json.dumps(arguments))
        for n, (name, arguments) in enumerate(made, 1)
    )


def llama3(name: str, arguments: dict[str, Any]) -> str:
    """A call as Llama 3.1's template teaches the model to write it."""
    return json.dumps({"name": name, "parameters": arguments})


def mistral(*made: tuple[str, dict[str, Any]]) -> str:
    """Calls as Mistral Nemo's template teaches the model to write them."""
    listed = [{"name": name, "arguments": arguments} for name, arguments in made]
    return "[TOOL_CALLS]" + json.dumps(listed)


def mistral_args(name: str, arguments: dict[str, Any]) -> str:
    """A call as Devstral's and Mistral Small 3.2's templates teach the model to write it."""
    return f"[TOOL_CALLS]{name}[ARGS]{json.dumps(arguments)}"


# ---- Llama 3.1 to 3.3 ------------------------------------------------------------------------


def test_a_llama3_answer_that_is_a_call_is_the_call_however_it_streams() -> None:
    weather = llama3("get_weather", {"city": "Oslo"})
    assert read_cut_everywhere("llama3", weather) == ("", calls(("get_weather", {"city": "Oslo"})))
    # After <|python_tag|>, with blanks around: laid out, not text.
    assert read_cut_everywhere("llama3", f" \n<|python_tag|>{weather}\n") == (
        "",
        calls(("get_weather", {"city": "Oslo"})),
    )


def test_llama3_reads_arguments_type_function_and_arguments_in_a_string() -> None:
    written = '{"type": "function", "name": "f", "arguments": "{\\"a\\": 1}"}'
    assert read("llama3", written) == ("", calls(("f", {"a": 1})))


def test_llama3_reads_one_call_at_the_start_and_keeps_what_follows_as_text() -> None:
    first, second = llama3("f", {}), llama3("g", {"x": [1, "}"]})
    # As llama.cpp reads it: one call; what follows it (another, after ";") is text.
    assert read_cut_everywhere("llama3", f"{first}; {second}") == (f"; {second}", calls(("f", {})))
    assert read_cut_everywhere("llama3", f"{first}\n\nAsked.") == ("Asked.", calls(("f", {})))
    # Text first: the answer is text, a call in it too.
    assert read_cut_everywhere("llama3", f"Sure: {first}") == (f"Sure: {first}", ())


def test_what_llama3_does_not_read_as_a_call_stays_text_as_written() -> None:
    for text in (
        '{"city": "Oslo"}',  # JSON, not a call
        '{"name": "f", "parameters": {}, "limit": 3}',  # more than a call
        '{"name": "f", "parameters": {}, "arguments": {}}',
        '{"name": "f"}',  # no arguments
        '{"type": "tool", "name": "f", "parameters": {}}',
        '{"name": "f", "parameters": [1]}',
        "{'name': 'f', 'parameters': {}}",  # not JSON
        '{"name": "f", "parameters": {"a": ',  # cut off by the answer's length
        '<|python_tag|>brave_search.call(query="Oslo")',  # a built-in tool's call
        "<|python_t",
        "  Plain text, laid out.  \n",
    ):
        assert read_cut_everywhere("llama3", text) == (text, ()), text


# ---- Mistral 7B v0.3, Nemo, Small 3.1: a list of calls -------------------------------------


def test_mistral_lists_calls_after_the_marker_with_text_before_and_after() -> None:
    listed = mistral(("get_weather", {"city": "Oslo"}), ("get_time", {"zone": "CET"}))
    expected = calls(("get_weather", {"city": "Oslo"}), ("get_time", {"zone": "CET"}))
    assert read_cut_everywhere("mistral", listed) == ("", expected)
    assert read_cut_everywhere("mistral", f"Let me look.\n{listed}\nBoth.") == (
        "Let me look.\nBoth.",
        expected,
    )
    # Small 3.1's template writes a blank after the marker; a call may carry an id.
    spaced = '[TOOL_CALLS] [{"name": "f", "arguments": {"a": "]"}, "id": "a1b2c3d4e"}]'
    assert read_cut_everywhere("mistral", spaced) == ("", calls(("f", {"a": "]"})))


def test_what_mistral_does_not_read_as_calls_stays_text_as_written() -> None:
    for text in (
        "[TOOL_CALLS]no list",
        "[TOOL_CALLS][]",
        '[TOOL_CALLS][{"name": "f"}]',  # no arguments
        '[TOOL_CALLS][{"name": "f", "arguments": {}}, 7]',  # one is no call: none are
        "[TOOL_CALLS][{'name': 'f', 'arguments': {}}]",
        '[TOOL_CALLS][{"name": "f", "arguments": {',  # cut off
        "A [TOOL_CAL",
        "[TOOL_CALLS ] [1]",
    ):
        assert read_cut_everywhere("mistral", text) == (text, ()), text


# ---- Mistral Small 3.2, Devstral, Ministral 3: a name and [ARGS] per call -----------------


def test_mistral_args_reads_call_after_call_and_the_text_before() -> None:
    written = 'Hello![TOOL_CALLS]f[ARGS]{"a": "}"}[TOOL_CALLS]g[CALL_ID]a1b2c3d4e[ARGS]{}'
    assert read_cut_everywhere("mistral_args", written) == (
        "Hello!",
        calls(("f", {"a": "}"}), ("g", {})),
    )


def test_what_mistral_args_does_not_read_as_a_call_stays_text_as_written() -> None:
    for text in (
        "[TOOL_CALLS]two words[ARGS]{}",
        "[TOOL_CALLS][ARGS]{}",  # no name
        "[TOOL_CALLS]f[ARGS]5",
        "[TOOL_CALLS]f[ARGS][1]",
        "[TOOL_CALLS]f[CALL_ID][ARGS]{}",
        "[TOOL_CALLS]f[ARGS]{'a': 1}",
        '[TOOL_CALLS]f[ARGS]{"a": ',  # cut off
        "[TOOL_CALLS]f[ARG",
        "[TOOL_CALLS]" + "f" * 65 + "[ARGS]{}",  # a name past OpenAI's 64 characters
    ):
        assert read_cut_everywhere("mistral_args", text) == (text, ()), text
    # Text that is no call, then a call.
    assert read_cut_everywhere("mistral_args", "[TOOL_CALLS]?[TOOL_CALLS]f[ARGS]{}") == (
        "[TOOL_CALLS]?",
        calls(("f", {})),
    )


# ---- every form ------------------------------------------------------------------------------

CALLS = st.lists(
    st.tuples(
        st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
        st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3),
    ),
    min_size=1,
    max_size=3,
)
# Text that cannot open a call in any form.
PLAIN = st.text(st.characters(blacklist_characters="[<{"), max_size=12)
CUTS = st.lists(st.integers(0, 400), max_size=8)


def answer(form: ToolCallForm, text: str, made: list[tuple[str, dict[str, Any]]]) -> str:
    """Text and calls in `form`, as far as the form lets them mix: Llama 3's one call begins
    the answer."""
    if form == "llama3":
        name, arguments = made[0]
        return llama3(name, arguments) + text
    if form == "mistral":
        return text + mistral(*made) + text
    return text + "".join(mistral_args(name, arguments) for name, arguments in made) + text


@pytest.mark.parametrize("form", ["llama3", "mistral", "mistral_args"])
@given(text=PLAIN, made=CALLS, cuts=CUTS)
def test_calls_among_text_read_the_same_in_pieces_of_any_size(
    form: ToolCallForm, text: str, made: list[tuple[str, dict[str, Any]]], cuts: list[int]
) -> None:
    whole = answer(form, text, made)
    content, read_calls = read(form, whole)
    assert read(form, whole, *(c % (len(whole) + 1) for c in cuts)) == (content, read_calls)
    expected = made[:1] if form == "llama3" else made
    assert [(c.name, json.loads(c.arguments)) for c in read_calls] == expected
    # Every character of the text is kept, in order, but the blanks that lay calls out.
    kept = text if form == "llama3" else text + text
    assert "".join(content.split()) == "".join(kept.split())


@pytest.mark.parametrize("form", ["hermes", "llama3", "mistral", "mistral_args"])
@given(text=st.text(max_size=40), cuts=CUTS)
def test_text_without_a_marker_or_brace_is_the_answer_exactly(
    form: ToolCallForm, text: str, cuts: list[int]
) -> None:
    text = re.sub(r"[\[<{]", "", text)
    assert read(form, text, *(c % (len(text) + 1) for c in cuts)) == (text, ())


@pytest.mark.parametrize(
    ("form", "text", "id_shape"),
    [
        # Mistral's templates refuse a conversation whose call ids are not 9 letters or digits.
        ("mistral", mistral(("f", {}), ("g", {})), r"[A-Za-z0-9]{9}"),
        ("mistral_args", mistral_args("f", {}) * 2, r"[A-Za-z0-9]{9}"),
        ("hermes", '<tool_call>{"name": "f"}</tool_call>', r"call_[0-9a-f]{24}"),
        ("llama3", llama3("f", {}), r"call_[0-9a-f]{24}"),
    ],
)
def test_calls_get_ids_of_the_shape_their_forms_templates_take(
    form: ToolCallForm, text: str, id_shape: str
) -> None:
    made = read_tool_calls(form, [text])[1]
    assert made and all(re.fullmatch(id_shape, call.id) for call in made), made


# A conversation begun with another model, whose client made ids of its own beside one of
# Mistral's shape: a call's id and its result's.
MADE_ELSEWHERE, MISTRAL_SHAPED = "call_0123456789abcdef01234567", "aB3dE5gH9"
BEGUN_ELSEWHERE = (
    ChatMessage("user", "Forecast, then ring."),
    ChatMessage(
        "assistant",
        "",
        tool_calls=(ToolCall(MADE_ELSEWHERE, "f", "{}"), ToolCall(MISTRAL_SHAPED, "g", "{}")),
    ),
    ChatMessage("tool", "sun", tool_call_id=MADE_ELSEWHERE),
    ChatMessage("tool", "rung", tool_call_id=MISTRAL_SHAPED),
)


@pytest.mark.parametrize("form", ["mistral", "mistral_args"])
def test_ids_made_elsewhere_reach_mistrals_templates_as_9_letters_or_digits_still_paired(
    form: ToolCallForm,
) -> None:
    user, assistant, result, other_result = with_template_ids(form, BEGUN_ELSEWHERE)
    made, kept = assistant.tool_calls
    assert re.fullmatch(r"[A-Za-z0-9]{9}", made.id) and result.tool_call_id == made.id
    assert kept.id == other_result.tool_call_id == MISTRAL_SHAPED
    assert user == BEGUN_ELSEWHERE[0] and result.content == "sun"
    # Another id, another mapping: calls stay apart.
    [again] = with_template_ids(form, (ChatMessage("tool", "x", tool_call_id="call_2"),))
    assert again.tool_call_id not in (made.id, MISTRAL_SHAPED)


@pytest.mark.parametrize("form", ["hermes", "llama3"])
def test_ids_reach_other_templates_as_the_client_gave_them(form: ToolCallForm) -> None:
    assert with_template_ids(form, BEGUN_ELSEWHERE) == BEGUN_ELSEWHERE


# ---- forced calls ----------------------------------------------------------------------------

FORECAST = Tool(
    "get_forecast",
    "The forecast for a city.",
    json.dumps({"type": "object", "properties": {"city": {"type": "string"}}}),
)
BELL = Tool("ring_bell", "Ring the bell.", None)


@pytest.mark.parametrize(
    ("form", "opening", "closing", "arguments_key"),
    [
        ("llama3", "", "", "parameters"),
        ("mistral", "[TOOL_CALLS][", "]", "arguments"),
    ],
)
def test_a_forced_call_is_the_forms_json_around_the_tools_schema(
    form: ToolCallForm, opening: str, closing: str, arguments_key: str
) -> None:
    chosen = call_constraint(form, [FORECAST, BELL], ChosenFunction("get_forecast"))
    assert chosen is not None and not chosen.alternatives
    assert (chosen.kind, chosen.opening, chosen.closing) == ("json_schema", opening, closing)
    schema = json.loads(chosen.text)
    assert schema["required"] == ["name", arguments_key]
    assert schema["properties"]["name"] == {"const": "get_forecast"}
    assert schema["properties"][arguments_key] == json.loads(FORECAST.parameters or "")


def test_a_forced_mistral_args_call_names_the_tool_in_its_opening() -> None:
    either = call_constraint("mistral_args", [FORECAST, BELL], "required")
    assert either is not None
    framed = [(c.opening, json.loads(c.text), c.closing) for c in (either, *either.alternatives)]
    assert framed == [
        ("[TOOL_CALLS]get_forecast[ARGS]", json.loads(FORECAST.parameters or ""), ""),
        # No parameters: it takes none, {} is all it is given.
        (
            "[TOOL_CALLS]ring_bell[ARGS]",
            {"type": "object", "properties": {}, "additionalProperties": False},
            "",
        ),
    ]
    assert call_constraint("mistral_args", [FORECAST, BELL], "auto") is None
