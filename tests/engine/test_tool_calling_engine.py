"""Function calling in the engine, on the starter model with real chat templates (Qwen2.5's,
Llama 3.1's, Mistral's): the tools offered and a turn of calls and results, written by the
template; an answer held to the form of a call; a call's marker that is a special token of
the model's vocabulary, written out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gguf_template import real_template, with_chat_template

from desktop.engine.client import EngineClient
from desktop.engine.protocol import (
    ChatMessage,
    GenerationRequest,
    OutputConstraint,
    Sampling,
    Tool,
    ToolCall,
    ToolCallForm,
)
from desktop.errors import InvalidChatTemplate
from desktop.tasks.tool_call_forms import FORMS
from desktop.tasks.tool_calls import ChosenFunction, call_constraint

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


def test_each_forms_real_template_is_told_apart_on_load(
    engine: EngineClient, form_caller_model_path: Path, call_form: ToolCallForm
) -> None:
    loaded = engine.load(form_caller_model_path, context_length=512, threads=2)
    assert loaded.template_takes_tools and loaded.tool_call_form == call_form


# A call and its result as each form's real template writes them into the prompt.
WRITTEN_CALLS = {
    "llama3": (
        '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "get_weather", '
        '"parameters": {"city": "Oslo"}}<|eot_id|>',
        '<|start_header_id|>ipython<|end_header_id|>\n\n"{\\"temperature\\": 21}"<|eot_id|>',
    ),
    "mistral": (
        '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "{id}"}]',
        '[TOOL_RESULTS]{"content": {"temperature": 21}, "call_id": "{id}"}[/TOOL_RESULTS]',
    ),
    "mistral_args": (
        '[TOOL_CALLS]get_weather[CALL_ID]{id}[ARGS]{"city": "Oslo"}',
        '[TOOL_RESULTS]{id}[TOOL_CONTENT]{"temperature": 21}[/TOOL_RESULTS]',
    ),
}


def turn_with_id(call_id: str) -> tuple[ChatMessage, ...]:
    call = ToolCall(call_id, "get_weather", '{"city": "Oslo"}')
    return (
        ChatMessage("user", "What is the weather in Oslo?"),
        ChatMessage("assistant", "", tool_calls=(call,)),
        ChatMessage("tool", '{"temperature": 21}', tool_call_id=call_id),
    )


def test_a_turn_of_calls_with_the_forms_ids_is_written_by_its_template(
    engine: EngineClient, form_caller_model_path: Path, call_form: ToolCallForm
) -> None:
    engine.load(form_caller_model_path, context_length=2048, threads=2)
    call_id = FORMS[call_form].new_call_id()  # as Lantern gave the call, handed back
    rendered = engine.render_chat(turn_with_id(call_id), tools=(WEATHER,)).text
    for written in WRITTEN_CALLS[call_form]:
        assert written.replace("{id}", call_id) in rendered
    if call_form != "llama3":
        # Mistral's templates take ids of 9 letters or digits only: not OpenAI's.
        with pytest.raises(InvalidChatTemplate, match="length 9"):
            engine.render_chat(turn_with_id("call_" + "0" * 24), tools=(WEATHER,))


def test_a_call_of_any_of_several_tools_keeps_to_the_tools_own_opening(
    tool_caller: EngineClient,
) -> None:
    # Mistral's newer form names the tool outside its JSON: each tool a framing of its own.
    clock = Tool("get_time", "The time in a city now.", WEATHER.parameters)
    constraint = call_constraint("mistral_args", (WEATHER, clock), "required")
    assert constraint is not None and constraint.alternatives
    request = GenerationRequest(
        messages=(ChatMessage("user", "What time is it in Lima?"),),
        tools=(WEATHER, clock),
        sampling=Sampling(max_tokens=60, temperature=0),
        constraint=constraint,
    )
    with tool_caller.generate(request) as stream:
        answer = "".join(stream)
    assert stream.finished is not None and stream.finished.finish_reason == "stop"
    name, _, arguments = answer.removeprefix("[TOOL_CALLS]").partition("[ARGS]")
    assert name in ("get_weather", "get_time")
    assert json.loads(arguments)["city"] in ("Oslo", "Lima")


def test_a_calls_marker_that_is_a_special_token_is_written_out_as_text(
    engine: EngineClient, starter_model_path: Path, tmp_path: Path
) -> None:
    # Mistral's [TOOL_CALLS] is a special token of its vocabulary, which an answer's text
    # leaves out: here one of the starter model's special tokens, unused, becomes it.
    marker_token = 7  # <gh_stars>
    model = with_chat_template(
        starter_model_path,
        tmp_path / "SmolLM2-with-Mistral-markers.gguf",
        real_template("mistral_nemo_instruct"),
        renamed_tokens={marker_token: "[TOOL_CALLS]"},
    )
    engine.load(model, context_length=2048, threads=2)
    # Calls made before, in the template's own form: the model follows their example.
    earlier = [
        message
        for n, city in enumerate(("Oslo", "Lima", "Oslo", "Lima"))
        for message in (
            ChatMessage("user", f"Weather in {city}?"),
            ChatMessage(
                "assistant",
                "",
                tool_calls=(ToolCall(f"call0000{n}", "get_weather", json.dumps({"city": city})),),
            ),
            ChatMessage("tool", '"sun"', tool_call_id=f"call0000{n}"),
            ChatMessage("assistant", "Sunny."),
        )
    ]
    request = GenerationRequest(
        messages=(*earlier, ChatMessage("user", "Weather in Oslo?")),
        tools=(WEATHER,),
        sampling=Sampling(max_tokens=60, temperature=0),
        constraint=call_constraint("mistral", (WEATHER,), ChosenFunction("get_weather")),
        logprobs=1,
    )
    with engine.generate(request) as stream:
        answer = "".join(stream)
    assert stream.tokens[0].choice.token_id == marker_token  # the special token, chosen
    assert answer.startswith('[TOOL_CALLS][{"name": "get_weather"')
