"""Request bodies, read and checked: JSON, each field of its type (strictly: "0.5" is not a
number, true is not 1), turned into what the serving service takes. Whatever is wrong is an
ApiRequestInvalid that names the field (`messages[0].role`) and what is wrong with it: the
server's 400. Fields this server does not know are passed over, as OpenAI clients send
fields of their own; those it knows and cannot do (n > 1, logit_bias, echo...) are refused.

The values of the sampling settings are checked by the service, against the one table of
their ranges (tasks/sampling_fields.py)."""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from desktop.errors import ApiRequestInvalid
from desktop.services.serving import (
    MAX_TOP_LOGPROBS,
    SAMPLING_NAMES,
    ChatMessage,
    ChosenFunction,
    GenerationAsk,
    Tool,
    ToolCall,
    ToolChoice,
)

MAX_EMBEDDING_INPUTS = 2048  # texts in one request, as OpenAI's API
MAX_TOOLS = 128  # functions offered in one request, as OpenAI's API

BodyT = TypeVar("BodyT", bound=BaseModel)
# The chat's roles as the engine takes them: OpenAI's newer "developer" is the system prompt.
_ROLES: dict[str, Literal["system", "user", "assistant", "tool"]] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}
_TOOL_CHOICES: dict[str, ToolChoice] = {"none": "none", "auto": "auto", "required": "required"}


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class StreamOptions(_Body):
    include_usage: bool = False


class _GenerationBody(_Body):
    """What chat completions and completions share: the model, sampling, streaming."""

    model: str
    max_tokens: int | None = None
    # The sampling settings (SAMPLING_NAMES): OpenAI's, then llama.cpp's servers' own.
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    top_k: int | None = None
    min_p: float | None = None
    typical_p: float | None = None
    repeat_penalty: float | None = None
    mirostat: int | None = None
    mirostat_tau: float | None = None
    mirostat_eta: float | None = None
    stop: Any = None  # a string or a list of them: `stops()`
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = 1
    logit_bias: dict[str, Any] | None = None

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    def sampling(self) -> dict[str, Any]:
        """The sampling settings the request set."""
        return {
            name: value for name in SAMPLING_NAMES if (value := getattr(self, name)) is not None
        }

    def stops(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        if isinstance(self.stop, str):
            return (self.stop,)
        if isinstance(self.stop, list) and all(isinstance(s, str) for s in self.stop):
            return tuple(self.stop)
        raise ApiRequestInvalid("stop: must be a string or a list of strings.", "stop")

    def refuse_what_is_not_served(self) -> None:
        if self.n != 1:
            raise ApiRequestInvalid("n: this server writes one choice per request (n=1).", "n")
        if self.logit_bias:
            raise ApiRequestInvalid("logit_bias: this server does not take it.", "logit_bias")


class FunctionBody(_Body):
    # As OpenAI's API: what a model can write back exactly, in a call.
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None  # a JSON schema of its arguments
    strict: bool | None = None  # every call is held to the schema where one is insisted on


class ToolBody(_Body):
    type: Literal["function"]
    function: FunctionBody


class CalledFunctionBody(_Body):
    name: str
    arguments: str  # a JSON object, as text


class ToolCallBody(_Body):
    id: str
    type: Literal["function"]
    function: CalledFunctionBody


class ChatMessageBody(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Any = None  # a string, or a list of parts: `text()`
    tool_calls: list[ToolCallBody] | None = None  # an assistant's calls
    tool_call_id: str | None = None  # a tool's result: the call it answers


class JsonSchemaFormat(_Body):
    name: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class ResponseFormat(_Body):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class ChatCompletionBody(_GenerationBody):
    messages: list[ChatMessageBody] = Field(min_length=1)
    max_completion_tokens: int | None = None  # OpenAI's newer name for max_tokens
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    response_format: ResponseFormat | None = None
    tools: list[ToolBody] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Any = None  # a word or a function: `chosen_tool()`
    # Taken, not held to: an answer has the calls the model writes (one where a call is
    # insisted on), as its template teaches it.
    parallel_tool_calls: bool | None = None
    functions: Any = None  # the older form of tools, refused
    function_call: Any = None

    def ask(self) -> GenerationAsk:
        self.refuse_what_is_not_served()
        if self.top_logprobs is not None and not self.logprobs:
            raise ApiRequestInvalid("top_logprobs: needs logprobs set to true.", "top_logprobs")
        for older in ("functions", "function_call"):
            if getattr(self, older) is not None:
                raise ApiRequestInvalid(
                    f"{older}: the older form of function calling; send tools and tool_choice.",
                    older,
                )
        output = self.response_format.type if self.response_format else "text"
        schema = self.response_format.json_schema if self.response_format else None
        return GenerationAsk(
            model_id=self.model,
            messages=self.chat(),
            sampling=self.sampling(),
            max_tokens=(
                self.max_tokens
                if self.max_completion_tokens is None
                else self.max_completion_tokens
            ),
            stop=self.stops(),
            logprobs=(self.top_logprobs or 0) if self.logprobs else None,
            output=output,
            json_schema=json.dumps(schema.schema_) if schema is not None else None,
            tools=tuple(
                Tool(
                    tool.function.name,
                    tool.function.description,
                    json.dumps(tool.function.parameters)
                    if tool.function.parameters is not None
                    else None,
                )
                for tool in self.tools or ()
            ),
            tool_choice=self.chosen_tool(),
        )

    def chat(self) -> tuple[ChatMessage, ...]:
        """The messages, calls and their results as the engine takes them. A tool's result
        answers a call made before it."""
        messages: list[ChatMessage] = []
        calls: set[str] = set()
        for index, message in enumerate(self.messages):
            at = f"messages[{index}]"
            if message.role == "function":
                raise ApiRequestInvalid(
                    f"{at}.role: 'function' is the older form of a tool's result; send "
                    "role 'tool' with the tool_call_id of the call it answers.",
                    f"{at}.role",
                )
            if message.tool_calls and message.role != "assistant":
                raise ApiRequestInvalid(
                    f"{at}.tool_calls: only the assistant's messages make calls.",
                    f"{at}.tool_calls",
                )
            if message.role == "tool" and message.tool_call_id not in calls:
                said = "is missing" if message.tool_call_id is None else "answers no call"
                raise ApiRequestInvalid(
                    f"{at}.tool_call_id: {said}; a tool's result follows the assistant's "
                    "message with the call it answers, and gives that call's id.",
                    f"{at}.tool_call_id",
                )
            made = tuple(
                ToolCall(call.id, call.function.name, call.function.arguments)
                for call in message.tool_calls or ()
            )
            calls.update(call.id for call in made)
            messages.append(
                ChatMessage(
                    _ROLES[message.role],
                    _text(message.content, at),
                    tool_calls=made,
                    tool_call_id=message.tool_call_id if message.role == "tool" else None,
                )
            )
        return tuple(messages)

    def chosen_tool(self) -> ToolChoice:
        """tool_choice: "none", "auto" (where not given), "required", or a function."""
        choice = self.tool_choice
        if choice is None:
            return "auto"
        if isinstance(choice, str) and choice in _TOOL_CHOICES:
            return _TOOL_CHOICES[choice]
        named = isinstance(choice, dict) and choice.get("type") == "function"
        function = choice.get("function") if named else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str):
            raise ApiRequestInvalid(
                "tool_choice: must be 'none', 'auto', 'required' or "
                "{'type': 'function', 'function': {'name': ...}}.",
                "tool_choice",
            )
        return ChosenFunction(name)


class CompletionBody(_GenerationBody):
    prompt: Any  # a string (or a list holding one): `ask()`
    # The legacy form: how many alternatives per token.
    logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    echo: bool = False
    suffix: str | None = None
    best_of: int | None = None

    def ask(self) -> GenerationAsk:
        self.refuse_what_is_not_served()
        if self.echo:
            raise ApiRequestInvalid("echo: this server does not repeat the prompt.", "echo")
        if self.suffix:
            raise ApiRequestInvalid("suffix: this server does not fill in between.", "suffix")
        if self.best_of not in (None, 1):
            raise ApiRequestInvalid("best_of: this server writes one completion.", "best_of")
        return GenerationAsk(
            model_id=self.model,
            prompt=_one_prompt(self.prompt),
            sampling=self.sampling(),
            max_tokens=self.max_tokens,
            stop=self.stops(),
            logprobs=self.logprobs,
        )


class EmbeddingBody(_Body):
    model: str
    input: Any  # a string or a list of strings: `texts()`
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None

    def texts(self) -> tuple[str, ...]:
        given = [self.input] if isinstance(self.input, str) else self.input
        if not isinstance(given, list) or not all(isinstance(text, str) for text in given):
            raise ApiRequestInvalid(
                "input: must be a string or a list of strings (this server embeds text, not "
                "token ids).",
                "input",
            )
        if not 1 <= len(given) <= MAX_EMBEDDING_INPUTS:
            raise ApiRequestInvalid(
                f"input: give 1 to {MAX_EMBEDDING_INPUTS} texts, not {len(given)}.", "input"
            )
        return tuple(given)


def read_body(kind: type[BodyT], raw: bytes) -> BodyT:
    """The body as `kind`; ApiRequestInvalid naming the first field that is wrong."""
    try:
        return kind.model_validate_json(raw)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> ApiRequestInvalid:
    error = exc.errors(include_url=False)[0]
    path = _path(error["loc"])
    if error["type"] == "json_invalid":
        said = error["msg"].removeprefix("Invalid JSON: ")
        return ApiRequestInvalid(f"The request body is not valid JSON: {said}.")
    if not path:
        return ApiRequestInvalid("The request body must be a JSON object.")
    if error["type"] == "missing":
        return ApiRequestInvalid(f"{path}: is required.", path)
    given = error.get("input")
    shown = f" (it is {json.dumps(given)[:60]})" if isinstance(given, str | int | float) else ""
    return ApiRequestInvalid(f"{path}: {error['msg']}{shown}.", path)


def _path(loc: tuple[int | str, ...]) -> str:
    """`("messages", 0, "role")` as `messages[0].role`; the schema field by its JSON name."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _text(content: Any, where: str) -> str:
    """A message's content as text: a string, or a list of text parts (joined)."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise ApiRequestInvalid(
            f"{where}.content: must be a string or a list of text parts.", f"{where}.content"
        )
    texts = []
    for index, part in enumerate(content):
        at = f"{where}.content[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind != "text" or not isinstance(part.get("text"), str):
            what = f"this one is {kind!r}" if isinstance(kind, str) else "this one is not"
            raise ApiRequestInvalid(
                f"{at}: this server takes text parts only, {{'type': 'text', 'text': ...}} "
                f"({what}).",
                at,
            )
        texts.append(part["text"])
    return "".join(texts)


def _one_prompt(prompt: Any) -> str:
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if isinstance(prompt, str):
        return prompt
    raise ApiRequestInvalid(
        "prompt: must be one string (this server completes one prompt per request, and takes "
        "text, not token ids).",
        "prompt",
    )
