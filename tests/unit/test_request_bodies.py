"""Request bodies as the API reads them (desktop/server/request_bodies.py): OpenAI's forms of
a chat, a completion and embeddings turned into what the serving service takes, and every
mistake named by its field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from desktop.errors import ApiRequestInvalid
from desktop.server.request_bodies import (
    ChatCompletionBody,
    CompletionBody,
    EmbeddingBody,
    _GenerationBody,
    read_body,
)
from desktop.services.serving import SAMPLING_NAMES, ChatMessage, ChosenFunction, Tool, ToolCall


def chat(**fields: Any) -> ChatCompletionBody:
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], **fields}
    return read_body(ChatCompletionBody, json.dumps(body).encode())


def test_a_chat_becomes_the_services_ask() -> None:
    ask = chat(
        messages=[
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hi, "}, {"type": "text", "text": "you"}],
            },
            {"role": "assistant", "content": None},
        ],
        temperature=0,
        top_k=5,
        max_completion_tokens=9,
        max_tokens=99,
        stop="\n",
        logprobs=True,
        top_logprobs=2,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": {"type": "object"}},
        },
        user="someone",  # a field of OpenAI's this server passes over
    ).ask()
    assert ask.messages == (
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "Hi, you"),
        ChatMessage("assistant", ""),
    )
    assert ask.sampling == {"temperature": 0.0, "top_k": 5}
    assert (ask.max_tokens, ask.stop, ask.logprobs) == (9, ("\n",), 2)
    assert (ask.output, json.loads(ask.json_schema or "")) == ("json_schema", {"type": "object"})
    assert not ask.tools


def test_logprobs_without_alternatives_ask_for_none() -> None:
    assert chat(logprobs=True).ask().logprobs == 0
    assert chat().ask().logprobs is None
    with pytest.raises(ApiRequestInvalid, match="needs logprobs"):
        chat(top_logprobs=2).ask()


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather now.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
CALLED = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
        }
    ],
}
ANSWERED = {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 21}'}


def test_tools_a_choice_of_them_and_a_turn_of_calls_become_the_services_ask() -> None:
    ask = chat(
        messages=[{"role": "user", "content": "Weather?"}, CALLED, ANSWERED],
        tools=[WEATHER, {"type": "function", "function": {"name": "ring"}}],
        tool_choice={"type": "function", "function": {"name": "ring"}},
    ).ask()
    assert ask.tools == (
        Tool("get_weather", "The weather now.", json.dumps(WEATHER["function"]["parameters"])),
        Tool("ring"),
    )
    assert ask.tool_choice == ChosenFunction("ring")
    assert ask.messages[1:] == (
        ChatMessage(
            "assistant", "", tool_calls=(ToolCall("call_1", "get_weather", '{"city": "Oslo"}'),)
        ),
        ChatMessage("tool", '{"temperature": 21}', tool_call_id="call_1"),
    )
    assert ask.uses_tools
    for word in ("none", "auto", "required"):
        assert chat(tools=[WEATHER], tool_choice=word).ask().tool_choice == word
    assert chat(tools=[WEATHER]).ask().tool_choice == "auto"


@pytest.mark.parametrize(
    "fields",
    [
        {"tools": [WEATHER]},
        {"messages": [{"role": "user", "content": "Weather?"}, CALLED]},
        {"messages": [{"role": "user", "content": "Weather?"}, CALLED, ANSWERED]},
    ],
)
def test_any_turn_of_function_calling_uses_tools(fields: dict[str, Any]) -> None:
    assert chat(**fields).ask().uses_tools


@pytest.mark.parametrize(
    ("fields", "param", "said"),
    [
        (
            {"tools": [{"type": "function", "function": {"name": "no spaces"}}]},
            "tools[0].function.name",
            "should match pattern",
        ),
        ({"tools": [{"type": "retrieval"}]}, "tools[0].type", "Input should be 'function'"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}]},
            "tools[0].function.parameters",
            "should be an object",
        ),
        ({"tools": [WEATHER], "tool_choice": "always"}, "tool_choice", "must be 'none'"),
        ({"tools": [WEATHER], "tool_choice": {"type": "function"}}, "tool_choice", "must be"),
        ({"functions": [{"name": "f"}]}, "functions", "older form"),
        ({"function_call": "auto"}, "function_call", "older form"),
        (
            {"messages": [{"role": "function", "name": "f", "content": "1"}]},
            "messages[0].role",
            "older form",
        ),
        ({"messages": [ANSWERED]}, "messages[0].tool_call_id", "answers no call"),
        (
            {"messages": [CALLED, {"role": "tool", "content": "1"}]},
            "messages[1].tool_call_id",
            "is missing",
        ),
        ({"messages": [{**CALLED, "role": "user"}]}, "messages[0].tool_calls", "assistant's"),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{"id": "1"}]}]},
            "messages[0].tool_calls[0].type",
            "is required",
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "1",
                                "type": "function",
                                "function": {"name": "f", "arguments": {}},
                            }
                        ],
                    }
                ]
            },
            "messages[0].tool_calls[0].function.arguments",
            "valid string",
        ),
    ],
)
def test_a_mistake_in_function_calling_is_named_by_its_field(
    fields: dict[str, Any], param: str, said: str
) -> None:
    with pytest.raises(ApiRequestInvalid) as error:
        chat(**fields).ask()
    assert error.value.param == param and said in error.value.message


def test_a_completion_takes_one_prompt_of_text() -> None:
    body = {"model": "m", "prompt": ["Once"], "logprobs": 3, "seed": 5}
    ask = read_body(CompletionBody, json.dumps(body).encode()).ask()
    assert (ask.prompt, ask.logprobs, ask.sampling) == ("Once", 3, {"seed": 5})
    for prompt, said in (
        ([1, 2, 3], "token ids"),
        (["a", "b"], "one prompt"),
        (None, "one string"),
    ):
        with pytest.raises(ApiRequestInvalid, match=said):
            read_body(CompletionBody, json.dumps({"model": "m", "prompt": prompt}).encode()).ask()
    for field, value in (("echo", True), ("suffix", "end"), ("best_of", 2)):
        refused = {"model": "m", "prompt": "x", field: value}
        with pytest.raises(ApiRequestInvalid) as error:
            read_body(CompletionBody, json.dumps(refused).encode()).ask()
        assert error.value.param == field


def test_embeddings_take_text_only() -> None:
    def texts(given: Any) -> tuple[str, ...]:
        return read_body(EmbeddingBody, json.dumps({"model": "e", "input": given}).encode()).texts()

    assert texts("A lamp.") == ("A lamp.",)
    assert texts(["A", "B"]) == ("A", "B")
    for refused in ([], [1, 2], [[1, 2]], 5):
        with pytest.raises(ApiRequestInvalid) as error:
            texts(refused)
        assert error.value.param == "input"


@pytest.mark.parametrize(
    ("raw", "param", "said"),
    [
        (b"{", None, "not valid JSON"),
        (b'"text"', None, "must be a JSON object"),
        (b'{"messages": [{"role": "user", "content": "Hi"}]}', "model", "model: is required"),
        (
            b'{"model": 5, "messages": []}',
            "model",
            "model: Input should be a valid string (it is 5)",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user"}], "seed": 1.5}',
            "seed",
            "seed: Input should be a valid integer",
        ),
        (b'{"model": "m", "messages": [{"role": "user"}], "seed": "7"}', "seed", "valid integer"),
        (
            b'{"model": "m", "messages": [{"role": "user"}], "max_tokens": true}',
            "max_tokens",
            "valid integer",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user"}], "response_format": {"type": "xml"}}',
            "response_format.type",
            "response_format.type: Input should be",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user"}], '
            b'"response_format": {"type": "json_schema", "json_schema": {}}}',
            "response_format.json_schema.schema",
            "is required",
        ),
    ],
)
def test_a_mistake_is_named_by_its_field(raw: bytes, param: str | None, said: str) -> None:
    with pytest.raises(ApiRequestInvalid) as error:
        read_body(ChatCompletionBody, raw)
    assert error.value.param == param and said in error.value.message


def test_every_sampling_setting_of_the_engine_is_a_field_of_the_body() -> None:
    assert set(SAMPLING_NAMES) <= set(_GenerationBody.model_fields)


def test_alternatives_per_token_are_at_most_twenty() -> None:
    with pytest.raises(ApiRequestInvalid) as chat_error:
        chat(logprobs=True, top_logprobs=21)
    assert chat_error.value.param == "top_logprobs"
    refused = {"model": "m", "prompt": "x", "logprobs": 21}
    with pytest.raises(ApiRequestInvalid) as completion_error:
        read_body(CompletionBody, json.dumps(refused).encode())
    assert completion_error.value.param == "logprobs"
