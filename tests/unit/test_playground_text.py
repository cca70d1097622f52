"""The playground's text: template variables, few-shot prompts, and "copy as code" scripts,
run against stand-ins for llama_cpp and openai that record what the script asks of them."""

from __future__ import annotations

import inspect
import json
import math
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.engine.protocol import ChatMessage, OutputConstraint, Sampling
from desktop.errors import LanternError
from desktop.server.request_bodies import ChatCompletionBody, CompletionBody, read_body
from desktop.tasks.code_export import CodeRequest, llama_cpp_python_code, openai_client_code
from desktop.tasks.few_shot import Example, ExampleLabels, chat_few_shot, raw_few_shot
from desktop.tasks.prompt_template import MissingVariables, fill_template, template_variables

# ---- templates ------------------------------------------------------------------------------

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
BRACELESS = st.text(st.characters(blacklist_characters="{}"))


def test_variables_in_order_of_first_appearance() -> None:
    text = "Write about {topic} in a {tone} voice; {topic} again, {_x1}."
    assert template_variables(text) == ["topic", "tone", "_x1"]
    filled = fill_template(text, {"topic": "tides", "tone": "calm", "_x1": ""})
    assert filled == "Write about tides in a calm voice; tides again, ."


def test_braces_that_are_not_variables_stay_as_written() -> None:
    text = 'Reply as {"answer": 1, "list": [{}]} or {1} or { name } or {a-b} or {é}.'
    assert template_variables(text) == []
    assert fill_template(text, {}) == text


def test_doubled_braces_are_a_literal_variable() -> None:
    text = "Use {{name}} as a placeholder for {name}."
    assert template_variables(text) == ["name"]
    assert fill_template(text, {"name": "Ada"}) == "Use {name} as a placeholder for Ada."
    assert fill_template("{{only}}", {}) == "{only}"


def test_missing_values_are_named_for_the_user() -> None:
    with pytest.raises(MissingVariables) as caught:
        fill_template("{topic}, {tone}, {length}", {"length": ""})
    assert caught.value.names == ("topic", "tone")
    assert caught.value.message == "Fill in the template's variables: topic, tone."
    assert isinstance(caught.value, LanternError)
    assert isinstance(caught.value, ValueError)


def test_values_are_not_read_for_variables() -> None:
    assert fill_template("{a}", {"a": "{b} {{c}}"}) == "{b} {{c}}"


@given(BRACELESS)
def test_text_without_braces_is_unchanged(text: str) -> None:
    assert template_variables(text) == []
    assert fill_template(text, {}) == text


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | BRACELESS,
    lambda inner: st.lists(inner) | st.dictionaries(BRACELESS, inner),
)


@given(JSON_VALUES, st.integers(min_value=0, max_value=4))
def test_json_is_never_a_variable(value: object, indent: int) -> None:
    text = json.dumps(value, indent=indent or None)
    assert template_variables(text) == []
    assert fill_template(text, {}) == text


@given(BRACELESS, NAMES, BRACELESS, BRACELESS)
def test_escape_and_fill(before: str, name: str, after: str, value: str) -> None:
    escaped = before + "{{" + name + "}}" + after
    assert template_variables(escaped) == []
    assert fill_template(escaped, {}) == before + "{" + name + "}" + after
    assert fill_template(before + "{" + name + "}" + after, {name: value}) == before + value + after


# ---- few-shot -------------------------------------------------------------------------------

EXAMPLES = [Example("2 + 2", "4"), Example("  ", ""), Example("3 * 3\n", "9")]


def test_no_examples_is_zero_shot() -> None:
    assert raw_few_shot(" What is 5 - 1? ", []) == " What is 5 - 1? "
    assert raw_few_shot("What is 5 - 1?", [Example("", " ")]) == "What is 5 - 1?"


def test_raw_examples_end_on_an_open_output() -> None:
    assert raw_few_shot("5 - 1", EXAMPLES) == (
        "Input: 2 + 2\nOutput: 4\n\nInput: 3 * 3\nOutput: 9\n\nInput: 5 - 1\nOutput:"
    )
    labels = ExampleLabels("Q", "A")
    assert raw_few_shot("5 - 1", EXAMPLES[:1], labels) == "Q: 2 + 2\nA: 4\n\nQ: 5 - 1\nA:"


def test_chat_examples_are_turns() -> None:
    assert chat_few_shot("Be terse.", "5 - 1", EXAMPLES) == (
        ChatMessage("system", "Be terse."),
        ChatMessage("user", "2 + 2"),
        ChatMessage("assistant", "4"),
        ChatMessage("user", "3 * 3\n"),
        ChatMessage("assistant", "9"),
        ChatMessage("user", "5 - 1"),
    )
    assert chat_few_shot(" \n", "hi", []) == (ChatMessage("user", "hi"),)


# ---- copy as code ---------------------------------------------------------------------------

TRICKY = "He said \"hi\" and 'bye'\\n, a real\nnewline, a tab\t, a \\ and é 灯台 \u2028 \x00."
SAMPLING = Sampling(
    max_tokens=64,
    temperature=0.3,
    top_p=0.9,
    top_k=12,
    min_p=0.07,
    typical_p=0.95,
    repeat_penalty=1.1,
    presence_penalty=0.2,
    frequency_penalty=-0.1,
    mirostat=2,
    mirostat_tau=4.0,
    mirostat_eta=0.2,
    seed=7,
    stop=("\n\n", 'END"'),
)
LLAMA_SAMPLING = {
    "max_tokens": 64,
    "temperature": 0.3,
    "top_p": 0.9,
    "top_k": 12,
    "min_p": 0.07,
    "typical_p": 0.95,
    "repeat_penalty": 1.1,
    "presence_penalty": 0.2,
    "frequency_penalty": -0.1,
    "mirostat_mode": 2,
    "mirostat_tau": 4.0,
    "mirostat_eta": 0.2,
    "seed": 7,
    "stop": ["\n\n", 'END"'],
}
OPENAI_STANDARD = ("max_tokens", "temperature", "top_p", "presence_penalty", "frequency_penalty")
GBNF = 'root ::= "yes" | "no" | "\\\\"'
SCHEMA = (
    '{"type": "object", "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"}}}'
)
MESSAGES = (ChatMessage("system", "Be terse."), ChatMessage("user", TRICKY))
API_KEY = "lt-the-users-key"  # in LANTERN_API_KEY, where the OpenAI script reads it


def code_request(**changes: Any) -> CodeRequest:
    values: dict[str, Any] = {
        "model_path": "/models/it's here/model.gguf",
        "model_name": "qwen2.5-0.5b",
        "prompt": TRICKY,
        "sampling": SAMPLING,
        "logprobs": 5,
        "context_length": 2048,
    }
    return CodeRequest(**(values | changes))


@contextmanager
def fake_llama_cpp() -> Iterator[dict[str, Any]]:
    calls: dict[str, Any] = {}

    class Llama:
        def __init__(self, **kwargs: Any) -> None:
            calls["Llama"] = kwargs

        def create_completion(self, **kwargs: Any) -> dict[str, Any]:
            calls["create_completion"] = kwargs
            return {"choices": [{"text": "raw answer"}]}

        def create_chat_completion(self, **kwargs: Any) -> dict[str, Any]:
            calls["create_chat_completion"] = kwargs
            return {"choices": [{"message": {"role": "assistant", "content": "chat answer"}}]}

    class LlamaGrammar:
        @classmethod
        def from_string(cls, grammar: str, verbose: bool = True) -> tuple[str, str, bool]:
            return ("gbnf", grammar, verbose)

        @classmethod
        def from_json_schema(cls, json_schema: str, verbose: bool = True) -> tuple[str, str, bool]:
            return ("schema", json_schema, verbose)

    module = types.ModuleType("llama_cpp")
    module.Llama = Llama  # type: ignore[attr-defined]
    module.LlamaGrammar = LlamaGrammar  # type: ignore[attr-defined]
    with mock.patch.dict(sys.modules, {"llama_cpp": module}):
        yield calls


@contextmanager
def fake_openai() -> Iterator[dict[str, Any]]:
    calls: dict[str, Any] = {}
    answer = types.SimpleNamespace(text="raw answer", message=types.SimpleNamespace(content="chat"))

    def recorder(name: str) -> Any:
        def create(**kwargs: Any) -> Any:
            calls[name] = kwargs
            return types.SimpleNamespace(choices=[answer])

        return create

    class OpenAI:
        def __init__(self, **kwargs: Any) -> None:
            calls["OpenAI"] = kwargs
            self.completions = types.SimpleNamespace(create=recorder("completions"))
            chat = types.SimpleNamespace(create=recorder("chat.completions"))
            self.chat = types.SimpleNamespace(completions=chat)

    module = types.ModuleType("openai")
    module.OpenAI = OpenAI  # type: ignore[attr-defined]
    with (
        mock.patch.dict(sys.modules, {"openai": module}),
        mock.patch.dict(os.environ, {"LANTERN_API_KEY": API_KEY}),
    ):
        yield calls


def run_script(code: str) -> None:
    exec(compile(code, "<copied code>", "exec"), {"__name__": "__main__"})


def test_llama_raw_script_makes_the_same_request(capsys: pytest.CaptureFixture[str]) -> None:
    request = code_request(constraint=OutputConstraint("grammar", GBNF))
    with fake_llama_cpp() as calls:
        run_script(llama_cpp_python_code(request))
    assert capsys.readouterr().out == "raw answer\n"
    assert calls["Llama"] == {
        "model_path": request.model_path,
        "n_ctx": 2048,
        "n_gpu_layers": -1,
        "logits_all": True,
        "verbose": False,
    }
    assert calls["create_completion"] == {
        "prompt": TRICKY,
        **LLAMA_SAMPLING,
        "logprobs": 5,
        "grammar": ("gbnf", GBNF, False),
    }


def test_llama_chat_script_makes_the_same_request(capsys: pytest.CaptureFixture[str]) -> None:
    request = code_request(
        prompt=None, messages=MESSAGES, constraint=OutputConstraint("json_schema", SCHEMA)
    )
    with fake_llama_cpp() as calls:
        run_script(llama_cpp_python_code(request))
    assert capsys.readouterr().out == "chat answer\n"
    assert calls["create_chat_completion"] == {
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": TRICKY},
        ],
        **LLAMA_SAMPLING,
        "logprobs": True,
        "top_logprobs": 5,
        "grammar": ("schema", SCHEMA, False),
    }


def test_llama_script_leaves_out_what_is_not_set() -> None:
    request = code_request(sampling=Sampling(seed=None, stop=()), logprobs=0)
    code = llama_cpp_python_code(request)
    assert "LlamaGrammar" not in code
    with fake_llama_cpp() as calls:
        run_script(code)
    assert "logits_all" not in calls["Llama"]
    assert not {"seed", "stop", "logprobs", "grammar"} & calls["create_completion"].keys()


def test_openai_raw_script_makes_the_same_request(capsys: pytest.CaptureFixture[str]) -> None:
    request = code_request(constraint=OutputConstraint("grammar", GBNF))
    code = openai_client_code(request)
    assert "python -m llama_cpp.server --model '/models/it'\"'\"'s here/model.gguf'" in code
    with fake_openai() as calls:
        run_script(code)
    assert capsys.readouterr().out == "raw answer\n"
    # Lantern's API where `lantern serve` listens by default, the key from the environment.
    assert calls["OpenAI"] == {"base_url": "http://127.0.0.1:8537/v1", "api_key": API_KEY}
    sent = calls["completions"]
    assert sent["model"] == "qwen2.5-0.5b"
    assert sent["prompt"] == TRICKY
    for key in (*OPENAI_STANDARD, "seed", "stop"):
        assert sent[key] == LLAMA_SAMPLING[key]
    assert sent["logprobs"] == 5
    llama_only = {k: v for k, v in LLAMA_SAMPLING.items() if k not in sent}
    llama_only["mirostat"] = llama_only.pop("mirostat_mode")  # the name servers read
    assert sent["extra_body"] == llama_only | {"grammar": GBNF}
    assert "Lantern's API takes no GBNF grammar" in code


def test_openai_script_goes_to_the_server_it_is_given() -> None:
    request = code_request(server_url="http://[::1]:9100/v1")
    with fake_openai() as calls:
        run_script(openai_client_code(request))
    assert calls["OpenAI"]["base_url"] == "http://[::1]:9100/v1"


def test_openai_scripts_are_read_by_lantern_s_api_as_the_playground_s_request() -> None:
    """Every setting under a name Lantern's server reads, to the same values; the schema
    as OpenAI's structured output, which it holds the answer to."""
    raw = code_request()
    chat = code_request(
        prompt=None, messages=MESSAGES, constraint=OutputConstraint("json_schema", SCHEMA)
    )
    for request in (raw, chat):
        with fake_openai() as calls:
            run_script(openai_client_code(request))
        endpoint = "completions" if request is raw else "chat.completions"
        sent = calls[endpoint]
        body = json.dumps({**sent, **sent.pop("extra_body")}).encode()
        ask = read_body(CompletionBody if request is raw else ChatCompletionBody, body).ask()
        sampling = Sampling(max_tokens=ask.max_tokens or 0, stop=ask.stop, **ask.sampling)
        assert sampling == request.sampling
        assert ask.logprobs == request.logprobs
    assert ask.messages == MESSAGES
    assert (ask.output, json.loads(ask.json_schema or "")) == ("json_schema", json.loads(SCHEMA))


def test_openai_chat_script_sends_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    request = code_request(
        prompt=None, messages=MESSAGES, constraint=OutputConstraint("json_schema", SCHEMA)
    )
    with fake_openai() as calls:
        run_script(openai_client_code(request))
    assert capsys.readouterr().out == "chat\n"
    sent = calls["chat.completions"]
    assert sent["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": TRICKY},
    ]
    assert (sent["logprobs"], sent["top_logprobs"]) == (True, 5)
    schema = sent["response_format"]["json_schema"]["schema"]
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": json.loads(SCHEMA)},
    }
    assert list(schema["properties"]) == ["zeta", "alpha"]  # the schema's own order
    assert "grammar" not in sent["extra_body"]


def test_openai_schema_without_a_python_literal_is_parsed_at_run_time() -> None:
    request = code_request(
        prompt=None,
        messages=MESSAGES,
        constraint=OutputConstraint("json_schema", '{"maximum": Infinity}'),
    )
    with fake_openai() as calls:
        run_script(openai_client_code(request))
    response_format = calls["chat.completions"]["response_format"]
    assert math.isinf(response_format["json_schema"]["schema"]["maximum"])
    broken = code_request(constraint=OutputConstraint("json_schema", "{not json"), prompt=None)
    compile(openai_client_code(broken), "<copied code>", "exec")


def test_openai_raw_schema_is_explained_not_sent() -> None:
    request = code_request(constraint=OutputConstraint("json_schema", SCHEMA), logprobs=0)
    code = openai_client_code(request)
    assert "# The completions API has no JSON-schema setting" in code
    with fake_openai() as calls:
        run_script(code)
    sent = calls["completions"]
    assert "response_format" not in sent
    assert "logprobs" not in sent
    assert "grammar" not in sent["extra_body"]


def test_llama_script_arguments_are_llama_cpp_pythons() -> None:
    """The stand-in takes any keyword; the real methods must accept every one it was given."""
    import llama_cpp  # the real library's signatures (nothing is loaded or run)

    raw = code_request(constraint=OutputConstraint("grammar", GBNF))
    chat = code_request(prompt=None, messages=MESSAGES, constraint=raw.constraint)
    for request in (raw, chat):
        with fake_llama_cpp() as calls:
            run_script(llama_cpp_python_code(request))
        for name, kwargs in calls.items():
            method = "__init__" if name == "Llama" else name
            inspect.signature(getattr(llama_cpp.Llama, method)).bind(None, **kwargs)


TEXT = st.text()
CONSTRAINTS = st.none() | st.builds(
    OutputConstraint, st.sampled_from(["grammar", "json_schema"]), TEXT
)


@given(
    prompt=st.none() | TEXT,
    contents=st.lists(TEXT, max_size=3),
    model_path=st.text(st.characters(exclude_characters="\x00")),  # no path holds NUL
    model_name=TEXT,
    stop=st.lists(TEXT, max_size=3),
    constraint=CONSTRAINTS,
    logprobs=st.integers(min_value=0, max_value=20),
)
def test_every_script_compiles_and_keeps_the_text(
    prompt: str | None,
    contents: list[str],
    model_path: str,
    model_name: str,
    stop: list[str],
    constraint: OutputConstraint | None,
    logprobs: int,
) -> None:
    request = CodeRequest(
        model_path=model_path,
        model_name=model_name,
        prompt=prompt,
        messages=tuple(ChatMessage("user", content) for content in contents),
        sampling=Sampling(stop=tuple(stop)),
        constraint=constraint,
        logprobs=logprobs,
    )
    compile(openai_client_code(request), "<copied code>", "exec")
    with fake_llama_cpp() as calls:
        run_script(llama_cpp_python_code(request))
    sent = calls["create_completion" if prompt is not None else "create_chat_completion"]
    assert sent.get("prompt", sent.get("messages")) == (
        prompt if prompt is not None else [{"role": "user", "content": c} for c in contents]
    )
    assert sent.get("stop", []) == stop
    assert calls["Llama"]["model_path"] == model_path
    if constraint is not None:
        assert sent["grammar"][1] == constraint.text


def test_model_defaults_are_lanterns_under_what_the_models_file_recommends() -> None:
    from desktop.services.playground_parameters import PlaygroundParameters

    mine = PlaygroundParameters(Sampling(max_tokens=77, temperature=1.5, top_k=3, seed=9), None, 2)
    reset = mine.with_recommended((("temperature", 1.0), ("top_k", 64.0), ("top_p", 0.95)))
    assert reset.sampling == Sampling(max_tokens=77, temperature=1.0, top_k=64, top_p=0.95)
    assert isinstance(reset.sampling.top_k, int)
    assert reset.alternatives == 2  # what is shown is not a sampling setting
    assert mine.with_recommended(()).sampling == Sampling(max_tokens=77)


def test_a_file_name_with_undecodable_bytes_gives_a_script_that_saves_and_compiles() -> None:
    """Linux hands Python a name's undecodable bytes as lone surrogates (found by the fuzz
    test above: '\\ud800' in the path's comment could not be encoded to UTF-8)."""
    request = CodeRequest(
        model_path="/models/caf\udce9.gguf",
        model_name="m",
        prompt="Hi",
        messages=(),
        sampling=Sampling(),
        constraint=None,
        logprobs=0,
    )
    script = openai_client_code(request)
    compile(script.encode("utf-8"), "<copied code>", "exec")
    assert "/models/caf\\udce9.gguf" in script
