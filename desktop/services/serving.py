"""Lantern's own OpenAI-compatible API, without the HTTP (that is desktop/server/): the models
it offers, a generation for a chat or a raw completion, embeddings, who is served next, the
request log and the API key. The window's server panel and `lantern serve` both use it.

Every request runs on the engine pool in the interactive lane, as task "api": an engine
process of its own beside the window's chat (memory allowing), so that neither waits for the
other. Requests wait their turn in a bounded queue (services/admission.py), one generation
at a time per model.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from desktop.engine.cancellation import Cancellation
from desktop.engine.pool import EnginePool, LentModel
from desktop.engine.protocol import (
    ChatMessage,
    FinishReason,
    GeneratedToken,
    GenerationRequest,
    ModelLoaded,
    OutputConstraint,
    Sampling,
    TokenChoice,
    Tool,
    ToolCall,
    ToolCallForm,
)
from desktop.errors import ApiRequestInvalid, InvalidConstraint, ToolsUnsupported, WaitCancelled
from desktop.models.embedders import is_embedding_model
from desktop.models.installed import InstalledModel
from desktop.services.admission import DEFAULT_QUEUE_CAPACITY, Admission, Ticket
from desktop.services.api_keys import ApiKeys
from desktop.services.models import ModelService
from desktop.services.request_log import RequestLog
from desktop.settings import Settings
from desktop.tasks.sampling_fields import LARGEST_SEED, sampling_problem
from desktop.tasks.tool_calls import (
    ChosenFunction,
    ToolCallReader,
    ToolChoice,
    call_constraint,
    insists_on_call,
    with_template_ids,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# What the server hands in and reads back: the engine's own types, named here so that the
# server depends on this service alone.
__all__ = [
    "ChatMessage",
    "ChosenFunction",
    "GeneratedToken",
    "TokenChoice",
    "Tool",
    "ToolCall",
    "ToolChoice",
]

TASK = "api"  # the engine pool's name for what holds a process (the status bar shows it)
MAX_STOP_STRINGS = 4  # as OpenAI's API
MAX_TOP_LOGPROBS = 20  # alternatives per token, as OpenAI's API
# The sampling settings a request may set, by the names of the Sampling fields (OpenAI's
# temperature, top_p, penalties and seed; llama.cpp's servers' top_k, min_p and the rest).
SAMPLING_NAMES = tuple(
    f.name for f in dataclasses.fields(Sampling) if f.name not in ("max_tokens", "stop")
)
# A JSON object, any: what `response_format: {"type": "json_object"}` holds the answer to.
JSON_OBJECT_SCHEMA = '{"type": "object"}'

ModelKind = Literal["chat", "embedding"]
OutputFormat = Literal["text", "json_object", "json_schema"]
# Where a generation is: waiting its turn, getting its model (loaded if need be), writing
# (its first piece is out), ended (however: finished, cancelled or failed).
GenerationStage = Literal["queued", "loading", "generating", "ended"]


@dataclass(frozen=True)
class ApiModel:
    """A model the API offers: chat models for text, embedding models for vectors."""

    id: str
    kind: ModelKind
    created: int  # when it was installed (its file's time), in seconds since 1970
    context_length: int  # as trained; the server serves it at most at the settings' context


@dataclass(frozen=True)
class GenerationAsk:
    """A request for text as the server read it: either chat `messages` (through the model's
    chat template) or a raw `prompt`. The values are checked by the service."""

    model_id: str
    messages: tuple[ChatMessage, ...] = ()
    prompt: str | None = None
    # Sampling settings the request set, by the Sampling fields' names (SAMPLING_NAMES).
    sampling: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    max_tokens: int | None = None  # None: the server's ceiling
    stop: tuple[str, ...] = ()
    # None: no probabilities; k: each token's, with its k likeliest alternatives.
    logprobs: int | None = None
    output: OutputFormat = "text"
    json_schema: str | None = None  # the schema, for output "json_schema"
    tools: tuple[Tool, ...] = ()  # functions the model may call
    tool_choice: ToolChoice = "auto"

    @property
    def uses_tools(self) -> bool:
        """Function calling: tools offered, or calls and their results in the chat. The
        model's chat template must have a place for them."""
        return bool(self.tools) or any(m.tool_calls or m.role == "tool" for m in self.messages)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ApiPiece:
    """What a generation added: its text, and its tokens when probabilities were asked for;
    or a call of a tool, whole, and its place among the answer's calls (0, 1...)."""

    text: str
    tokens: tuple[GeneratedToken, ...] = ()
    tool_call: ToolCall | None = None
    call_index: int = 0


@dataclass(frozen=True)
class Embedded:
    vectors: npt.NDArray[np.float32]  # a row per text, each of length 1 (zeros for "")
    usage: Usage


class ServingService:
    def __init__(
        self,
        models: ModelService,
        engines: EnginePool,
        settings: Settings,
        *,
        queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
        keys: ApiKeys | None = None,
    ) -> None:
        self._models = models
        self._engines = engines
        self.max_tokens = settings.server_max_tokens  # the longest answer a request may ask
        self.admission = Admission(queue_capacity)
        self.log = RequestLog(keep_contents=settings.server_log_contents)
        self.keys = keys or ApiKeys()
        self._live: set[QueuedWork] = set()
        self._lock = threading.Lock()

    def models(self) -> list[ApiModel]:
        """Every installed model, chat models and embedding models alike."""
        return [
            ApiModel(
                m.id,
                "embedding" if is_embedding_model(m) else "chat",
                _installed_at(m),
                m.info.context_length,
            )
            for m in self._models.list()
        ]

    def generate(self, ask: GenerationAsk) -> ApiGeneration:
        """A generation for `ask`, its place in the queue taken: iterate it (in a thread of
        its own: it blocks) for its pieces. ModelNotFound, ApiRequestInvalid or ServerBusy
        at once; the errors of the model and the engine from the iteration, before the first
        piece (ToolsUnsupported, ContextOverflow, NotEnoughMemory, EngineCrashed...)."""
        model = self._model(ask.model_id, "chat")
        request = self._request(ask)
        return self._admitted(
            ApiGeneration(
                self,
                model,
                request,
                uses_tools=ask.uses_tools,
                tool_choice=ask.tool_choice,
            )
        )

    def embedding(self, model_id: str, texts: Sequence[str]) -> ApiEmbedding:
        """Embeddings of `texts` by an embedding model, their place in the queue taken:
        `run()` them (it blocks)."""
        model = self._model(model_id, "embedding")
        return self._admitted(ApiEmbedding(self, model, tuple(texts)))

    def generations(self) -> list[ApiGeneration]:
        """The generations under way or waiting their turn (each one's `stage` says which)."""
        with self._lock:
            return [work for work in self._live if isinstance(work, ApiGeneration)]

    def cancel_all(self) -> None:
        """Stop every generation and embedding under way or waiting (the server stops)."""
        with self._lock:
            live = list(self._live)
        for each in live:
            each.cancel()

    def _admitted(self, work: WorkT) -> WorkT:
        """`work`, known to `generations()` and `cancel_all()` from before it takes its place
        in the queue (ServerBusy, and then forgotten, when the queue is full)."""
        with self._lock:
            self._live.add(work)
        try:
            work._ticket = self.admission.enter(work.model_id)
        except BaseException:
            self._let_go(work)
            raise
        return work

    def _let_go(self, work: QueuedWork) -> None:
        with self._lock:
            self._live.discard(work)

    def _model(self, model_id: str, kind: ModelKind) -> InstalledModel:
        model = self._models.get(model_id)  # ModelNotInstalled: the server's 404
        if (kind == "embedding") != is_embedding_model(model):
            what = (
                "an embedding model: it makes vectors (/v1/embeddings) and cannot write text"
                if kind == "chat"
                else "a chat model, not an embedding model: use one of those for vectors"
            )
            raise ApiRequestInvalid(f"{model_id} is {what}.", "model")
        return model

    def _request(self, ask: GenerationAsk) -> GenerationRequest:
        sampling = self._sampling(ask)
        greedy = sampling.temperature == 0
        _check_tools(ask)
        constraint = _constraint(ask)
        # A call insisted on: the answer is held to a call's form (once the model's template
        # has told which form: ApiGeneration).
        if insists_on_call(ask.tool_choice) and constraint is not None:
            raise ApiRequestInvalid(
                "response_format: an answer that must call a tool (tool_choice) is that "
                "call; leave response_format out.",
                "response_format",
            )
        return GenerationRequest(
            messages=ask.messages,
            prompt=ask.prompt,
            sampling=sampling,
            # A prompt read afresh: the same seed and settings then give the same answer bit
            # for bit; a request that names no seed and samples goes faster from the cache.
            reuse_cached_prompt=sampling.seed is None and not greedy,
            context_policy="stop",  # a client's chat is its own: never shortened unseen
            constraint=constraint,
            # The engine reports probabilities with alternatives: at least one then.
            logprobs=max(1, ask.logprobs) if ask.logprobs is not None else 0,
            # "none": the model is told of no tools, and what it writes is text.
            tools=ask.tools if ask.tool_choice != "none" else (),
        )

    def _sampling(self, ask: GenerationAsk) -> Sampling:
        values = dict(ask.sampling)
        seed = values.get("seed")
        if isinstance(seed, int):  # any whole number, as clients send; -1 asks for a random one
            values["seed"] = None if seed == -1 else seed % (LARGEST_SEED + 1)
        for name, value in values.items():
            if name not in SAMPLING_NAMES:
                raise ApiRequestInvalid(f"'{name}' is not a sampling setting.", name)
            problem = sampling_problem(name, value)
            if problem is not None:
                raise ApiRequestInvalid(f"{problem}.", name)
        max_tokens = self.max_tokens if ask.max_tokens is None else ask.max_tokens
        if not 1 <= max_tokens <= self.max_tokens:
            raise ApiRequestInvalid(
                f"max_tokens is {max_tokens:,}, but this server writes answers of 1 to "
                f"{self.max_tokens:,} tokens (its ceiling, a setting of the server).",
                "max_tokens",
            )
        if len(ask.stop) > MAX_STOP_STRINGS or not all(ask.stop):
            raise ApiRequestInvalid(
                f"stop takes up to {MAX_STOP_STRINGS} strings, none of them empty.", "stop"
            )
        if ask.logprobs is not None and not 0 <= ask.logprobs <= MAX_TOP_LOGPROBS:
            raise ApiRequestInvalid(
                f"Up to {MAX_TOP_LOGPROBS} alternatives per token can be reported, not "
                f"{ask.logprobs}.",
                "top_logprobs",
            )
        return Sampling(max_tokens=max_tokens, stop=ask.stop, **values)


def _check_tools(ask: GenerationAsk) -> None:
    """The tools are each named once, and a tool_choice that insists on a call has one to
    make (ApiRequestInvalid naming the field if not)."""
    names = [tool.name for tool in ask.tools]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ApiRequestInvalid(
                f"tools[{index}].function.name: {name!r} names two tools; each needs a name of "
                "its own.",
                f"tools[{index}].function.name",
            )
    choice = ask.tool_choice
    if choice == "required" and not names:
        raise ApiRequestInvalid(
            "tool_choice: 'required' needs tools to call; none were given.", "tool_choice"
        )
    if isinstance(choice, ChosenFunction) and choice.name not in names:
        offered = ", ".join(names) or "none"
        raise ApiRequestInvalid(
            f"tool_choice: {choice.name!r} is not one of the tools given ({offered}).",
            "tool_choice",
        )


def _constraint(ask: GenerationAsk) -> OutputConstraint | None:
    if ask.output == "json_object":
        return OutputConstraint("json_schema", JSON_OBJECT_SCHEMA)
    if ask.output == "json_schema":
        if not ask.json_schema:
            raise ApiRequestInvalid(
                "response_format json_schema needs its schema.", "response_format"
            )
        try:
            json.loads(ask.json_schema)
        except ValueError as exc:
            raise ApiRequestInvalid(
                f"The JSON schema is not JSON: {exc}.", "response_format"
            ) from None
        return OutputConstraint("json_schema", ask.json_schema)
    return None


def _installed_at(model: InstalledModel) -> int:
    try:
        return int(model.path.stat().st_mtime)
    except OSError:  # removed meanwhile
        return 0


class QueuedWork:
    """What a request asks of a model, waiting its turn in the API's queue first (a place
    the service gives it: services/admission.py). `cancel()` from any thread ends the wait."""

    def __init__(self, service: ServingService, model: InstalledModel) -> None:
        self.model_id = model.id
        self._service = service
        self._model = model
        self._cancelled = Cancellation()
        self._ticket: Ticket | None = None  # its place, once the service has given it one

    def cancel(self) -> None:
        self._cancelled.set()

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """Its turn, waited for (WaitCancelled when cancelled first); its place given up
        afterwards, however it ends."""
        assert self._ticket is not None, "the service gives it its place first"
        try:
            self._ticket.wait(self._cancelled)
            yield
        finally:
            self._ticket.leave()
            self._service._let_go(self)


WorkT = TypeVar("WorkT", bound=QueuedWork)


class ApiGeneration(QueuedWork):
    """One request's answer: iterate it (it blocks: first its turn in the queue, then the
    model) for ApiPieces; `cancel()` from any thread stops it at once, wherever it is, and
    the iteration then ends normally. `stage` says where it is (another thread may wait for
    one). Afterwards `finish_reason`, `usage` and `tokens_per_s` say how it went (None where
    it never reached the model)."""

    def __init__(
        self,
        service: ServingService,
        model: InstalledModel,
        request: GenerationRequest,
        *,
        uses_tools: bool,
        tool_choice: ToolChoice,
    ) -> None:
        super().__init__(service, model)
        self.created = int(time.time())
        self.finish_reason: FinishReason | None = None
        self.usage: Usage | None = None  # once it has finished
        self.tokens_per_s: float | None = None
        self.calls_made = 0  # the tools the model called, once it has finished
        self._request = request
        self._uses_tools = uses_tools
        self._tool_choice = tool_choice
        self._stream_cancel: Callable[[], None] | None = None  # the engine stream's, while it runs
        self._stage: GenerationStage = "queued"
        self._stage_changed = threading.Condition()

    @property
    def stage(self) -> GenerationStage:
        return self._stage

    def wait_for_stage(self, stage: GenerationStage, timeout: float) -> bool:
        """Wait (while another thread iterates it) until it reaches `stage` (True), or has
        ended before it, or `timeout` seconds pass (False)."""
        with self._stage_changed:
            self._stage_changed.wait_for(lambda: self._stage in (stage, "ended"), timeout)
            return self._stage == stage

    def _reach(self, stage: GenerationStage) -> None:
        with self._stage_changed:
            self._stage = stage
            self._stage_changed.notify_all()

    def cancel(self) -> None:
        super().cancel()
        stop = self._stream_cancel
        if stop is not None:
            stop()

    def __iter__(self) -> Iterator[ApiPiece]:
        try:
            with self._turn():
                self._reach("loading")
                yield from self._generated()
        except WaitCancelled:  # stopped before its turn, or while its model was awaited
            self.finish_reason = "cancelled"
        finally:
            self._stream_cancel = None
            self._reach("ended")

    def _generated(self) -> Iterator[ApiPiece]:
        """The pieces of the answer, with the model's calls read out of them where tools
        were offered: in the form its template teaches, and held to it where a call is
        insisted on."""
        engines = self._service._engines
        request = self._request
        reads_calls = bool(request.tools)  # tools were offered: its calls are read
        with engines.lease(self._model, "interactive", TASK, cancelled=self._cancelled) as model:
            form = model.loaded.tool_call_form
            if self._uses_tools:
                _refuse_tools(self.model_id, model.loaded, reads_calls=reads_calls)
            if form is not None:
                request = dataclasses.replace(
                    request, messages=with_template_ids(form, request.messages)
                )
            if reads_calls:
                assert form is not None  # refused otherwise
                call = call_constraint(form, request.tools, self._tool_choice)
                request = dataclasses.replace(request, constraint=call or request.constraint)
                yield from self._calls_read(self._streamed(model, request), form)
            else:
                yield from self._streamed(model, request)

    def _streamed(self, model: LentModel, request: GenerationRequest) -> Iterator[ApiPiece]:
        """The model's answer to `request`, piece by piece; its stats once it is over."""
        with model.generate(request) as stream:
            self._stream_cancel = stream.cancel
            if self._cancelled.is_set():
                stream.cancel()
            seen = 0
            try:
                for text in stream:
                    if self._stage != "generating":  # its first piece
                        self._reach("generating")
                    new = tuple(stream.tokens[seen:])
                    seen = len(stream.tokens)
                    yield ApiPiece(text, new)
            except InvalidConstraint as exc:
                if request.tools and request.constraint is not None:
                    # The schema at fault is a tool's: the call is held to it.
                    raise ApiRequestInvalid(
                        f"A tool's parameters cannot hold the call to them: {exc.message}",
                        "tools",
                    ) from None
                raise
        finished = stream.finished
        assert finished is not None
        self.finish_reason = finished.finish_reason
        stats = finished.stats
        self.usage = Usage(stats.prompt_tokens, stats.generated_tokens)
        self.tokens_per_s = stats.generation_tokens_per_s

    def _calls_read(self, pieces: Iterator[ApiPiece], form: ToolCallForm) -> Iterator[ApiPiece]:
        """The pieces with the model's calls, written in `form`, read out of its text
        (tasks/tool_calls.py): text that may begin a call is held back until it is known, and
        a call comes whole. The tokens of what is held go with the next piece said."""
        reader = ToolCallReader(form)
        tokens: list[GeneratedToken] = []

        def said(items: list[str | ToolCall]) -> Iterator[ApiPiece]:
            for item in items:
                if isinstance(item, ToolCall):
                    yield ApiPiece("", tuple(tokens), tool_call=item, call_index=self.calls_made)
                    self.calls_made += 1
                else:
                    yield ApiPiece(item, tuple(tokens))
                tokens.clear()

        for piece in pieces:
            tokens.extend(piece.tokens)
            yield from said(reader.add(piece.text))
        yield from said(reader.finish())
        if tokens:  # of blanks that laid calls out, which are not said
            yield ApiPiece("", tuple(tokens))


def _refuse_tools(model_id: str, loaded: ModelLoaded, *, reads_calls: bool) -> None:
    """ToolsUnsupported where the model cannot take part in function calling: its template
    has no place for tools, or (where its calls are to be read) it teaches the model a form
    of call that Lantern does not read."""
    if not loaded.template_takes_tools:
        raise ToolsUnsupported(
            f"{model_id} cannot call tools: its chat template has no place for them. Leave "
            "tools out, or use a model made for function calling.",
            "tools",
        )
    if reads_calls and loaded.tool_call_form is None:
        raise ToolsUnsupported(
            f"{model_id}'s chat template takes tools, but has the model write its calls in "
            "a form Lantern does not read yet (it reads the calls of Qwen, Hermes, Llama 3.1 "
            "to 3.3, Mistral and their kin, as their own templates teach them). Leave tools "
            "out, or use such a model.",
            "tools",
        )


class ApiEmbedding(QueuedWork):
    """One request's embeddings: `run()` them (it blocks: its turn in the queue, then the
    model); `cancel()` from any thread ends a wait for its turn (WaitCancelled)."""

    def __init__(
        self, service: ServingService, model: InstalledModel, texts: tuple[str, ...]
    ) -> None:
        super().__init__(service, model)
        self._texts = texts

    def run(self) -> Embedded:
        with (
            self._turn(),
            self._service._engines.embedder(self._model, "interactive", TASK) as lease,
        ):
            vectors, tokens = lease.embed_counted(self._texts)
        return Embedded(vectors, Usage(tokens, 0))
