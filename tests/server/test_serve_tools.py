"""Function calling through the real server with the official `openai` client, on the starter
model given Qwen2.5-Instruct's real chat template (which takes tools): a call insisted on is
a call that can be made, whole or streamed; its result, given back, is read by the model;
"none" calls nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import openai
import pytest
from api_server import Served, serve
from pydantic import BaseModel, ConfigDict

from desktop.models.installed import InstalledModel
from desktop.services.app import Lantern
from desktop.services.serving import ChatMessage, Tool, ToolCall

GREEDY = {"temperature": 0, "seed": 7, "max_tokens": 100}
ASKED = [{"role": "user", "content": "What is the weather in Oslo for the next three days?"}]


class Forecast(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: Literal["Oslo", "Lima", "Perth"]
    days: int


class Bell(BaseModel):
    model_config = ConfigDict(extra="forbid")
    times: Literal[1, 2, 3]


def tool(name: str, description: str, parameters: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": parameters.model_json_schema(),
        },
    }


FORECAST = tool("get_forecast", "The weather forecast for a city.", Forecast)
BELL = tool("ring_bell", "Ring the lighthouse bell.", Bell)
SCHEMAS: dict[str, type[BaseModel]] = {"get_forecast": Forecast, "ring_bell": Bell}


@pytest.fixture
def served(
    installed_tool_caller: InstalledModel, lantern: Lantern, file_keyring: Path
) -> Iterator[Served]:
    running = serve(lantern, lantern.serving, installed_tool_caller)
    yield running
    running.server.stop()


def test_a_named_function_is_called_with_arguments_that_fit_its_schema(served: Served) -> None:
    answer = served.client().chat.completions.create(
        model=served.model,
        messages=ASKED,  # type: ignore[arg-type]
        tools=[FORECAST, BELL],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "get_forecast"}},
        **GREEDY,  # type: ignore[arg-type]
    )
    [choice] = answer.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_forecast"
    Forecast.model_validate(json.loads(call.function.arguments))


def test_required_calls_one_of_the_tools(served: Served) -> None:
    answer = served.client().chat.completions.create(
        model=served.model,
        messages=[{"role": "user", "content": "Ring the bell twice."}],
        tools=[FORECAST, BELL],  # type: ignore[list-item]
        tool_choice="required",
        **GREEDY,  # type: ignore[arg-type]
    )
    [choice] = answer.choices
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    SCHEMAS[call.function.name].model_validate(json.loads(call.function.arguments))


def test_a_streamed_call_comes_through_delta_tool_calls(served: Served) -> None:
    client = served.client()
    asked: dict[str, Any] = {
        "model": served.model,
        "messages": ASKED,
        "tools": [FORECAST, BELL],
        "tool_choice": {"type": "function", "function": {"name": "get_forecast"}},
        **GREEDY,
    }
    whole = client.chat.completions.create(**asked)
    [made] = whole.choices[0].message.tool_calls or []
    chunks = list(client.chat.completions.create(**asked, stream=True))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    assert not "".join(d.content or "" for d in deltas)
    calls = [call for d in deltas for call in d.tool_calls or []]
    assert {call.index for call in calls} == {0}
    assert calls[0].id and calls[0].id.startswith("call_") and calls[0].type == "function"
    assert calls[0].function is not None
    name = "".join(c.function.name or "" for c in calls if c.function)
    arguments = "".join(c.function.arguments or "" for c in calls if c.function)
    # The same greedy answer as the whole one (each call has an id of its own).
    assert (name, arguments) == (made.function.name, made.function.arguments)
    endings = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert endings[-1] == "tool_calls" and not any(endings[:-1])


def test_a_calls_result_given_back_is_rendered_for_the_model_and_answered(
    served: Served, installed_tool_caller: InstalledModel
) -> None:
    client = served.client()
    called = client.chat.completions.create(
        model=served.model,
        messages=ASKED,  # type: ignore[arg-type]
        tools=[FORECAST],  # type: ignore[list-item]
        tool_choice="required",
        **GREEDY,  # type: ignore[arg-type]
    )
    [call] = called.choices[0].message.tool_calls or []
    result = '{"forecast": ["sun", "rain", "snow"]}'
    follow_up = [
        *ASKED,
        called.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": result},
    ]
    answer = client.chat.completions.create(
        model=served.model,
        messages=follow_up,  # type: ignore[arg-type]
        tools=[FORECAST],  # type: ignore[list-item]
        **GREEDY,  # type: ignore[arg-type]
    )
    [choice] = answer.choices
    assert choice.finish_reason in ("stop", "length", "tool_calls")
    assert choice.message.content or choice.message.tool_calls

    # What the model read: the call and its result, written by its template.
    chat = (
        ChatMessage("user", ASKED[0]["content"]),
        ChatMessage(
            "assistant",
            "",
            tool_calls=(ToolCall(call.id, call.function.name, call.function.arguments),),
        ),
        ChatMessage("tool", result, tool_call_id=call.id),
    )
    offered = Tool(
        "get_forecast",
        FORECAST["function"]["description"],
        json.dumps(Forecast.model_json_schema()),
    )
    with served.lantern.engines.preview(installed_tool_caller, "interactive", "test") as model:
        rendered = model.render_chat(chat, tools=(offered,))
    assert f"<tool_response>\n{result}\n</tool_response>" in rendered.text
    assert f'{{"name": "get_forecast", "arguments": {call.function.arguments}}}' in rendered.text
    assert answer.usage is not None and answer.usage.prompt_tokens == rendered.tokens


def test_none_calls_nothing_and_tells_the_model_of_no_tools(served: Served) -> None:
    client = served.client()
    offered = client.chat.completions.create(
        model=served.model,
        messages=ASKED,  # type: ignore[arg-type]
        tools=[FORECAST, BELL],  # type: ignore[list-item]
        **{**GREEDY, "max_tokens": 1},  # type: ignore[arg-type]
    )
    answer = client.chat.completions.create(
        model=served.model,
        messages=ASKED,  # type: ignore[arg-type]
        tools=[FORECAST, BELL],  # type: ignore[list-item]
        tool_choice="none",
        **GREEDY,  # type: ignore[arg-type]
    )
    [choice] = answer.choices
    assert choice.finish_reason in ("stop", "length") and choice.message.tool_calls is None
    assert choice.message.content
    # The tools were left out of the prompt.
    assert answer.usage is not None and offered.usage is not None
    assert answer.usage.prompt_tokens < offered.usage.prompt_tokens


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tool_choice": {"type": "function", "function": {"name": "sail"}}}, "tool_choice"),
        ({"tools": [], "tool_choice": "required"}, "tool_choice"),
        ({"tools": [FORECAST, FORECAST]}, "tools[1].function.name"),
        (
            {"tool_choice": "required", "response_format": {"type": "json_object"}},
            "response_format",
        ),
    ],
)
def test_a_choice_of_tools_that_cannot_be_made_is_a_400_naming_its_field(
    served: Served, fields: dict[str, Any], param: str
) -> None:
    asked = {"model": served.model, "messages": ASKED, "tools": [FORECAST], **fields}
    with pytest.raises(openai.BadRequestError) as refused:
        served.client().chat.completions.create(**asked)
    assert refused.value.param == param
