"""Function calling in the engine, on the starter model with Qwen2.5-Instruct's real chat
template: the tools offered and a turn of calls and results, written by the template; an
answer held to the form of a call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.engine.client import EngineClient
from desktop.engine.protocol import (
    ChatMessage,
    GenerationRequest,
    OutputConstraint,
    Sampling,
    Tool,
    ToolCall,
)

pytestmark = pytest.mark.engine

WEATHER = Tool(
    "get_weather",
    "The weather in a city now.",
    json.dumps(
        {
            "type": "object",
            "properties": {"city": {"type": "string", "enum": ["Oslo", "Lima"]}},
            "required": ["city"],
            "additionalProperties": False,
        }
    ),
)
CALL = ToolCall("call_1", "get_weather", '{"city": "Oslo"}')
TURN = (
    ChatMessage("user", "What is the weather in Oslo?"),
    ChatMessage("assistant", "", tool_calls=(CALL,)),
    ChatMessage("tool", '{"temperature": 21}', tool_call_id="call_1"),
)


@pytest.fixture
def tool_caller(engine: EngineClient, tool_caller_model_path: Path) -> EngineClient:
    engine.load(tool_caller_model_path, context_length=2048, threads=2)
    return engine


def test_the_template_says_it_takes_tools_and_in_which_form(
    engine: EngineClient, tool_caller_model_path: Path, starter_model_path: Path
) -> None:
    loaded = engine.load(tool_caller_model_path, context_length=512, threads=2)
    assert loaded.template_takes_tools and loaded.tool_call_form == "hermes"
    starter = engine.load(starter_model_path, context_length=512, threads=2)
    assert not starter.template_takes_tools and starter.tool_call_form is None


def test_the_tools_the_calls_and_their_results_are_written_by_the_template(
    tool_caller: EngineClient,
) -> None:
    rendered = tool_caller.render_chat(TURN, tools=(WEATHER,)).text
    offered = json.dumps(WEATHER.as_json())
    assert f"<tools>\n{offered}\n</tools>" in rendered
    # The call's arguments as an object, as the template writes one with tojson.
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>' in (
        rendered
    )
    assert "<|im_start|>user\n<tool_response>\n" + '{"temperature": 21}' in rendered
    assert rendered.endswith("</tool_response><|im_end|>\n<|im_start|>assistant\n")
    # Without tools, the template writes its plain system prompt.
    assert "<tools>" not in tool_caller.render_chat(TURN).text


def test_a_framed_json_constraint_holds_the_answer_to_a_call(tool_caller: EngineClient) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"const": "get_weather"},
            "arguments": json.loads(WEATHER.parameters or ""),
        },
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }
    request = GenerationRequest(
        messages=(ChatMessage("user", "Tell me a story."),),
        tools=(WEATHER,),
        sampling=Sampling(max_tokens=60, temperature=0),
        constraint=OutputConstraint(
            "json_schema", json.dumps(schema), opening="<tool_call>\n", closing="\n</tool_call>"
        ),
    )
    with tool_caller.generate(request) as stream:
        answer = "".join(stream)
    assert stream.finished is not None and stream.finished.finish_reason == "stop"
    assert answer.startswith("<tool_call>\n") and answer.endswith("\n</tool_call>")
    call = json.loads(answer.removeprefix("<tool_call>\n").removesuffix("\n</tool_call>"))
    assert call["name"] == "get_weather" and call["arguments"]["city"] in ("Oslo", "Lima")
