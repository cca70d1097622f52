"""Function calling through the real server with the official `openai` client, on the starter
model given real chat templates that take tools (Qwen2.5-Instruct's; Llama 3.1's and
Mistral's, each teaching a form of its own): a call insisted on is a call that can be made,
whole or streamed; its result, given back, is read by the model; "none" calls nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import openai
import pytest
from api_server import Served, serve
from gguf_template import real_template, with_chat_template
from openai.types.chat import ChatCompletion, ChatCompletionMessageFunctionToolCall
from pydantic import BaseModel, ConfigDict

from desktop.engine.protocol import RenderedChat, ToolCallForm
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.paths import app_paths
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
    assert_required_calls_one_of_the_tools(served)


def assert_required_calls_one_of_the_tools(served: Served) -> None:
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
    call, answer = call_then_give_back(served, max_tokens=100)
    [choice] = answer.choices
    assert choice.finish_reason in ("stop", "length", "tool_calls")
    assert choice.message.content or choice.message.tool_calls

    rendered = as_the_model_read_it(served, installed_tool_caller, call)
    assert f"<tool_response>\n{RESULT}\n</tool_response>" in rendered.text
    assert f'{{"name": "get_forecast", "arguments": {call.function.arguments}}}' in rendered.text
    assert answer.usage is not None and answer.usage.prompt_tokens == rendered.tokens


RESULT = '{"forecast": ["sun", "rain", "snow"]}'


def call_then_give_back(
    served: Served, *, max_tokens: int
) -> tuple[ChatCompletionMessageFunctionToolCall, ChatCompletion]:
    """A call insisted on, and the answer once the conversation goes on as a client sends
    it: the call, as given, and its result (RESULT)."""
    client = served.client()
    called = client.chat.completions.create(
        model=served.model,
        messages=ASKED,  # type: ignore[arg-type]
        tools=[FORECAST],  # type: ignore[list-item]
        tool_choice="required",
        **GREEDY,  # type: ignore[arg-type]
    )
    [call] = called.choices[0].message.tool_calls or []
    answer = client.chat.completions.create(
        model=served.model,
        messages=[
            *ASKED,
            called.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": RESULT},
        ],  # type: ignore[list-item]
        tools=[FORECAST],  # type: ignore[list-item]
        **{**GREEDY, "max_tokens": max_tokens},  # type: ignore[arg-type]
    )
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    return call, answer


def as_the_model_read_it(
    served: Served, installed: InstalledModel, call: ChatCompletionMessageFunctionToolCall
) -> RenderedChat:
    """The question, the call and its result, as the model's template writes them."""
    chat = (
        ChatMessage("user", ASKED[0]["content"]),
        ChatMessage(
            "assistant",
            "",
            tool_calls=(ToolCall(call.id, call.function.name, call.function.arguments),),
        ),
        ChatMessage("tool", RESULT, tool_call_id=call.id),
    )
    offered = Tool(
        "get_forecast",
        FORECAST["function"]["description"],
        json.dumps(Forecast.model_json_schema()),
    )
    with served.lantern.engines.preview(installed, "interactive", "test") as model:
        return model.render_chat(chat, tools=(offered,))


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


# ---- the forms of Llama 3.1 and Mistral ------------------------------------------------------

# The ids Lantern gives calls: Mistral's templates take ids of 9 letters or digits only.
ID_SHAPES = {
    "llama3": r"call_[0-9a-f]{24}",
    "mistral": r"[A-Za-z0-9]{9}",
    "mistral_args": r"[A-Za-z0-9]{9}",
}


@pytest.fixture
def served_form(
    installed_form_caller: InstalledModel, lantern: Lantern, file_keyring: Path
) -> Iterator[Served]:
    running = serve(lantern, lantern.serving, installed_form_caller)
    yield running
    running.server.stop()


def test_a_call_insisted_on_comes_back_as_tool_calls_in_each_form(
    served_form: Served, call_form: ToolCallForm
) -> None:
    client = served_form.client()
    asked: dict[str, Any] = {
        "model": served_form.model,
        "messages": ASKED,
        "tools": [FORECAST, BELL],
        "tool_choice": {"type": "function", "function": {"name": "get_forecast"}},
        **GREEDY,
    }
    [choice] = client.chat.completions.create(**asked).choices
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.function.name == "get_forecast"
    assert re.fullmatch(ID_SHAPES[call_form], call.id)
    Forecast.model_validate(json.loads(call.function.arguments))
    # Streamed, the same call in pieces of delta.tool_calls, and no text.
    deltas = [c.choices[0].delta for c in client.chat.completions.create(**asked, stream=True)]
    assert not "".join(d.content or "" for d in deltas)
    streamed = [c.function for d in deltas for c in d.tool_calls or [] if c.function]
    assert "".join(f.name or "" for f in streamed) == "get_forecast"
    assert "".join(f.arguments or "" for f in streamed) == call.function.arguments


def test_required_calls_one_of_the_tools_in_each_form(served_form: Served) -> None:
    assert_required_calls_one_of_the_tools(served_form)


# A call's result as each form's real template writes it for the model.
WRITTEN_RESULTS = {
    "llama3": "<|start_header_id|>ipython<|end_header_id|>\n\n{json_result}<|eot_id|>",
    "mistral": '[TOOL_RESULTS]{{"content": {result}, "call_id": "{id}"}}[/TOOL_RESULTS]',
    "mistral_args": "[TOOL_RESULTS]{id}[TOOL_CONTENT]{result}[/TOOL_RESULTS]",
}


def test_a_calls_result_given_back_is_read_by_the_model_in_each_form(
    served_form: Served, installed_form_caller: InstalledModel, call_form: ToolCallForm
) -> None:
    call, answer = call_then_give_back(served_form, max_tokens=8)
    [choice] = answer.choices
    assert choice.finish_reason in ("stop", "length", "tool_calls")

    # The call (its id, for Mistral's) and its result, as its template writes them.
    rendered = as_the_model_read_it(served_form, installed_form_caller, call)
    written = WRITTEN_RESULTS[call_form].format(
        json_result=json.dumps(RESULT), result=RESULT, id=call.id
    )
    assert written in rendered.text
    assert answer.usage is not None and answer.usage.prompt_tokens == rendered.tokens


def test_a_conversation_begun_with_another_model_goes_on_in_each_form(
    served_form: Served,
) -> None:
    """Ids of another model's or client's making (`call_...`), which Mistral's templates
    refuse as they stand, are answered: the model switched mid-conversation."""
    made_elsewhere = "call_" + "0123456789abcdef" * 2
    answer = served_form.client().chat.completions.create(
        model=served_form.model,
        messages=[
            *ASKED,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": made_elsewhere,
                        "type": "function",
                        "function": {
                            "name": "get_forecast",
                            "arguments": '{"city": "Oslo", "days": 3}',
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": made_elsewhere, "content": RESULT},
        ],  # type: ignore[list-item]
        tools=[FORECAST],  # type: ignore[list-item]
        **{**GREEDY, "max_tokens": 8},  # type: ignore[arg-type]
    )
    [choice] = answer.choices
    assert choice.finish_reason in ("stop", "length", "tool_calls")
    assert answer.usage is not None and answer.usage.prompt_tokens > 0


def test_a_template_that_teaches_a_form_lantern_does_not_read_is_a_400(
    lantern: Lantern,
    installed_starter: InstalledModel,
    file_keyring: Path,
    tmp_path: Path,
) -> None:
    # Functionary 3.1's: a Llama 3.1 (ipython role and all) whose calls are <function=...>.
    made = with_chat_template(
        installed_starter.path,
        tmp_path / "SmolLM2-135M-Instruct-Functionary-Template.Q4_1.gguf",
        real_template("functionary_medium_v3_1"),
    )
    paths = app_paths()
    functionary = ModelLibrary(paths.models, paths.cache).import_file(made)
    running = serve(lantern, lantern.serving, functionary)
    try:
        with pytest.raises(openai.BadRequestError) as refused:
            running.client().chat.completions.create(
                model=running.model,
                messages=ASKED,  # type: ignore[arg-type]
                tools=[FORECAST],  # type: ignore[list-item]
            )
    finally:
        running.server.stop()
    assert refused.value.code == "tools_unsupported" and refused.value.param == "tools"
    assert "a form Lantern does not read yet" in refused.value.message
