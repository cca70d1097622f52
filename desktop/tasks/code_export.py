"""Copy as code: a playground run as a runnable llama-cpp-python script, or as the same call
through the OpenAI client to Lantern's own OpenAI-compatible API (`lantern serve`), its key
read from the environment, the settings under the names that API reads; and a first chat
request to that API (the Server page's), with curl and with the OpenAI client.

Every string the user wrote is quoted with repr(), which is always valid Python and gives back
the exact text: quotes, newlines and backslashes included.
"""

from __future__ import annotations

import ast
import json
import pprint
import shlex
import textwrap
from dataclasses import dataclass, field

from desktop.engine.protocol import ChatMessage, OutputConstraint, Sampling
from desktop.settings import Settings

# Where `lantern serve` listens unless the settings say otherwise.
LANTERN_SERVER_URL = f"http://127.0.0.1:{Settings.server_port}/v1"
# Where a script that does not show the API key reads it from.
KEY_VARIABLE = "LANTERN_API_KEY"
EXAMPLE_MESSAGES = (ChatMessage("user", "Say hello."),)
# Settings the OpenAI API has itself; llama.cpp's others travel in extra_body.
_OPENAI_SETTINGS = ("max_tokens", "temperature", "top_p", "presence_penalty", "frequency_penalty")
_LLAMA_SETTINGS = ("top_k", "min_p", "typical_p", "repeat_penalty")

Argument = tuple[str, str]  # a keyword and the Python source of its value


@dataclass(frozen=True)
class CodeRequest:
    model_path: str
    model_name: str
    prompt: str | None  # a raw completion; None in chat mode
    messages: tuple[ChatMessage, ...] = ()  # chat mode
    sampling: Sampling = field(default_factory=Sampling)
    constraint: OutputConstraint | None = None
    logprobs: int = 0  # alternatives reported per token; 0: off
    context_length: int = 4096
    server_url: str = LANTERN_SERVER_URL  # Lantern's API, as a client on this computer reaches it


@dataclass(frozen=True)
class ServerAccess:
    """Where a client reaches an OpenAI-compatible API (its base URL, ending in /v1), and the
    key it sends: the key itself, or None to read it from the KEY_VARIABLE environment
    variable (a snippet on the screen need not show the key)."""

    base_url: str
    api_key: str | None = None


def llama_cpp_python_code(request: CodeRequest) -> str:
    """A script that loads the model with llama-cpp-python and makes the same request."""
    constraint, raw = request.constraint, request.prompt is not None
    lines = ["from llama_cpp import Llama" + (", LlamaGrammar" if constraint else ""), ""]
    lines += _text_variables(request)
    if constraint is not None:
        lines.append(f"{_constraint_name(constraint)} = {constraint.text!r}")
    model = [("model_path", repr(request.model_path)), ("n_ctx", repr(request.context_length))]
    model.append(("n_gpu_layers", "-1"))  # every layer on the GPU, where the build has one
    if request.logprobs:  # llama-cpp-python keeps every position's logits only when asked
        model.append(("logits_all", "True"))
    model.append(("verbose", "False"))
    lines += ["", *_call("llm = Llama", model), ""]

    arguments = [_text_argument(request)]
    arguments += [(key, repr(value)) for key, value in _sampling_values(request.sampling).items()]
    arguments += _logprobs_arguments(request)
    if constraint is not None:
        factory = "from_string" if constraint.kind == "grammar" else "from_json_schema"
        grammar = f"LlamaGrammar.{factory}({_constraint_name(constraint)}, verbose=False)"
        arguments.append(("grammar", grammar))
    method = "create_completion" if raw else "create_chat_completion"
    lines += _call(f"result = llm.{method}", arguments)
    answer = '["text"]' if raw else '["message"]["content"]'
    lines.append(f'print(result["choices"][0]{answer})')
    return "\n".join(lines) + "\n"


def openai_client_code(request: CodeRequest) -> str:
    """The same request through the OpenAI client, sent to Lantern's own API (`lantern
    serve`): the settings under the names it reads, the key from LANTERN_API_KEY."""
    constraint, raw = request.constraint, request.prompt is not None
    # Mirostat by the name Lantern's API (and llama.cpp's server) reads.
    values = {
        "mirostat" if key == "mirostat_mode" else key: value
        for key, value in _sampling_values(request.sampling).items()
    }
    arguments = [("model", repr(request.model_name)), _text_argument(request)]
    standard = [key for key in (*_OPENAI_SETTINGS, "seed", "stop") if key in values]
    arguments += [(key, repr(values.pop(key))) for key in standard]
    arguments += _logprobs_arguments(request)
    extra = [(json.dumps(key), repr(value)) for key, value in values.items()]
    imports, variables = ["import os", "", "from openai import OpenAI"], _text_variables(request)
    if constraint is not None and constraint.kind == "grammar":
        variables += [
            "# Lantern's API takes no GBNF grammar (it holds a chat to a JSON schema, in",
            "# response_format): this one reaches servers that read extra_body's grammar.",
            f"GRAMMAR = {constraint.text!r}",
        ]
        extra.append(('"grammar"', "GRAMMAR"))
    elif constraint is not None and raw:
        variables += [
            "# The completions API has no JSON-schema setting: to hold the output to the",
            "# schema, use the chat form (response_format).",
        ]
    elif constraint is not None:
        schema = _schema_literal(constraint.text)
        if schema is None:  # not JSON a Python literal can spell: parsed when the script runs
            imports.insert(0, "import json")
            schema = f"json.loads({constraint.text!r})"
        variables.append(f"SCHEMA = {schema}")
        arguments.append(("response_format", _JSON_SCHEMA_FORMAT))
    body = "".join(f"        {key}: {value},\n" for key, value in extra)
    arguments.append(
        ("extra_body", "{  # llama.cpp's own settings, outside the OpenAI API\n" + body + "    }")
    )
    # A comment is one line, in UTF-8: a file name's undecodable bytes (held as lone
    # surrogates) are written as escapes, or the script could not be saved or compiled.
    printable = request.model_path.encode("utf-8", "backslashreplace").decode("utf-8")
    path = shlex.quote(" ".join(printable.splitlines()))
    endpoint = "completions" if raw else "chat.completions"
    return "\n".join(
        [
            *imports,
            "",
            "# Talks to Lantern's OpenAI-compatible API: start it with `lantern serve` (or in",
            f"# Lantern's window), and set {KEY_VARIABLE} to the API key it gives. For",
            "# another OpenAI-compatible server, change base_url and the key; llama-cpp-python's:",
            f"#   python -m llama_cpp.server --model {path}",
            "# A server passes over the settings in extra_body that it does not know.",
            "client = OpenAI(",
            f"    base_url={request.server_url!r},",
            f'    api_key=os.environ["{KEY_VARIABLE}"],',
            ")",
            "",
            *variables,
            "",
            *_call(f"result = client.{endpoint}.create", arguments),
            f"print(result.choices[0].{'text' if raw else 'message.content'})",
            "",
        ]
    )


# OpenAI's structured output, which Lantern's API reads: the answer held to SCHEMA.
_JSON_SCHEMA_FORMAT = '{"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA}}'


def curl_chat_code(
    access: ServerAccess, model: str, messages: tuple[ChatMessage, ...] = EXAMPLE_MESSAGES
) -> str:
    """A chat request to the API with curl, in a POSIX shell."""
    body = {"model": model, "messages": [_message_json(m) for m in messages]}
    if access.api_key is None:  # double quotes: the shell puts the variable in
        authorization = f'"Authorization: Bearer ${KEY_VARIABLE}"'
    else:
        authorization = shlex.quote(f"Authorization: Bearer {access.api_key}")
    return "\n".join(
        [
            *_key_comment(access),
            f"curl {shlex.quote(access.base_url.rstrip('/') + '/chat/completions')} \\",
            '  -H "Content-Type: application/json" \\',
            f"  -H {authorization} \\",
            f"  -d {shlex.quote(json.dumps(body, ensure_ascii=False))}",
            "",
        ]
    )


def openai_chat_code(
    access: ServerAccess, model: str, messages: tuple[ChatMessage, ...] = EXAMPLE_MESSAGES
) -> str:
    """A chat request to the API with the OpenAI client, in Python."""
    imports = ["from openai import OpenAI"]
    key = repr(access.api_key)
    if access.api_key is None:
        imports.insert(0, "import os")
        key = f"os.environ[{KEY_VARIABLE!r}]"
    return "\n".join(
        [
            *imports,
            "",
            *_key_comment(access),
            f"client = OpenAI(base_url={access.base_url!r}, api_key={key})",
            "",
            *_messages_variable(messages),
            "",
            *_call(
                "result = client.chat.completions.create",
                [("model", repr(model)), ("messages", "MESSAGES")],
            ),
            "print(result.choices[0].message.content)",
            "",
        ]
    )


def _key_comment(access: ServerAccess) -> list[str]:
    if access.api_key is not None:
        return []
    return [f"# First: export {KEY_VARIABLE}=<the server's API key>"]


# OpenAI's structured output, which Lantern's API reads: the answer held to SCHEMA.
_JSON_SCHEMA_FORMAT = '{"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA}}'


def _sampling_values(sampling: Sampling) -> dict[str, object]:
    """Every setting under llama-cpp-python's keyword names; seed and stop only when set."""
    values: dict[str, object] = {key: getattr(sampling, key) for key in _OPENAI_SETTINGS}
    values |= {key: getattr(sampling, key) for key in _LLAMA_SETTINGS}
    values["mirostat_mode"] = sampling.mirostat
    values["mirostat_tau"] = sampling.mirostat_tau
    values["mirostat_eta"] = sampling.mirostat_eta
    if sampling.seed is not None:
        values["seed"] = sampling.seed
    if sampling.stop:
        values["stop"] = list(sampling.stop)
    return values


def _text_variables(request: CodeRequest) -> list[str]:
    if request.prompt is not None:
        return [f"PROMPT = {request.prompt!r}"]
    return _messages_variable(request.messages)


def _messages_variable(messages: tuple[ChatMessage, ...]) -> list[str]:
    turns = [f'    {{"role": "{m.role}", "content": {m.content!r}}},' for m in messages]
    return ["MESSAGES = [", *turns, "]"]


def _message_json(message: ChatMessage) -> dict[str, str]:
    return {"role": message.role, "content": message.content}


def _text_argument(request: CodeRequest) -> Argument:
    return ("prompt", "PROMPT") if request.prompt is not None else ("messages", "MESSAGES")


def _logprobs_arguments(request: CodeRequest) -> list[Argument]:
    if not request.logprobs:
        return []
    if request.prompt is not None:
        return [("logprobs", repr(request.logprobs))]
    return [("logprobs", "True"), ("top_logprobs", repr(request.logprobs))]


def _constraint_name(constraint: OutputConstraint) -> str:
    return "GRAMMAR" if constraint.kind == "grammar" else "SCHEMA"


def _schema_literal(schema_text: str) -> str | None:
    """The schema as a Python literal, in its own property order; None when the text is not
    JSON, or holds NaN or infinity, which no literal spells."""
    try:
        literal = pprint.pformat(json.loads(schema_text), sort_dicts=False)
        ast.literal_eval(literal)  # fails on the names nan and inf
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses
        return None
    return textwrap.indent(literal, " " * len("SCHEMA = ")).lstrip()


def _call(target: str, arguments: list[Argument]) -> list[str]:
    return [f"{target}(", *(f"    {key}={value}," for key, value in arguments), ")"]
