"""Remote engines against real servers on 127.0.0.1: llama-cpp-python's own OpenAI-compatible
server on the starter model (what it streams, compared with what the official `openai`
client gets from it), and a stand-in for the faults that server cannot be made to show."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import llama_cpp
import openai
import pytest
from llama_cpp_server import LlamaCppServer, free_port
from remote_stand_in import ANSWER, API_KEY, MODEL, Fault, FaultKind, StandIn

from desktop.engine.protocol import ChatMessage, GenerationRequest, OutputConstraint, Sampling
from desktop.engine.remote import MESSAGE_OVERHEAD_TOKENS, RemoteModel, estimated_tokens
from desktop.engine.remote_http import RETRY_AFTER_CAP_S, ServerConnection
from desktop.engine.remote_probe import (
    DEFAULT_CONTEXT_LENGTH,
    ServerProfile,
    list_models,
    probe_server,
)
from desktop.errors import (
    ContextOverflow,
    EngineCrashed,
    InvalidRemote,
    RemoteAccessDenied,
    RemoteAnswerCut,
    RemoteApiNotFound,
    RemoteBusy,
    RemoteClosed,
    RemoteConnectionLost,
    RemoteModelNotFound,
    RemoteNotFound,
    RemoteServerError,
    RemoteUnreachable,
    RemoteUnsupported,
)
from desktop.models.remotes import ServedModel, stored_api_key
from desktop.paths import app_paths
from desktop.services.remotes import RemoteService

pytestmark = pytest.mark.engine

GREEDY = Sampling(max_tokens=24, temperature=0.0, seed=1)
CHAT = (
    ChatMessage("system", "You are a helpful assistant."),
    ChatMessage("user", "Name three colours."),
)


@pytest.fixture(scope="module")
def probed(llama_cpp_server: LlamaCppServer) -> Iterator[tuple[ServerConnection, ServerProfile]]:
    """One probe of the real server for the module (a few tiny requests)."""
    connection = ServerConnection("box", llama_cpp_server.url, llama_cpp_server.api_key)
    yield connection, probe_server(connection, list_models(connection))
    connection.close()


@pytest.fixture
def model(
    probed: tuple[ServerConnection, ServerProfile], llama_cpp_server: LlamaCppServer
) -> RemoteModel:
    connection, profile = probed
    return RemoteModel("box", connection, profile, ServedModel(llama_cpp_server.model))


@pytest.fixture
def official(llama_cpp_server: LlamaCppServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=f"{llama_cpp_server.url}/v1", api_key=llama_cpp_server.api_key)
    yield client
    client.close()


def openai_fields(sampling: Sampling) -> dict[str, object]:
    """What the official client sends for the same settings: llama.cpp's extras in the body."""
    return {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
        "seed": sampling.seed,
        "extra_body": {
            "top_k": sampling.top_k,
            "min_p": sampling.min_p,
            "repeat_penalty": sampling.repeat_penalty,
        },
    }


# ---- against llama-cpp-python's server ----


def test_the_probe_finds_what_the_server_can_do(model: RemoteModel) -> None:
    caps = model.capabilities
    assert (caps.raw_completion, caps.logprobs, caps.grammar, caps.json_schema) == (None,) * 4
    assert caps.exact_token_counts is None  # its /extras/tokenize
    assert caps.rendered_prompt is not None and "box" in caps.rendered_prompt
    assert caps.forced_tokens is not None
    # It does not say its context window: Lantern's default, shown as assumed.
    assert model.loaded.context_length == DEFAULT_CONTEXT_LENGTH
    assert not model.context_stated
    with pytest.raises(RemoteUnsupported, match="applies the model's chat template itself"):
        model.render_chat(CHAT)


def test_a_chat_streams_what_the_official_client_gets(
    model: RemoteModel, official: openai.OpenAI, llama_cpp_server: LlamaCppServer
) -> None:
    with model.generate(GenerationRequest(messages=CHAT, sampling=GREEDY)) as stream:
        pieces = list(stream)
    expected = []
    for chunk in official.chat.completions.create(
        model=llama_cpp_server.model,
        messages=[{"role": m.role, "content": m.content} for m in CHAT],
        stream=True,
        **openai_fields(GREEDY),  # type: ignore[arg-type]
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            expected.append(chunk.choices[0].delta.content)
    assert pieces == expected and len(pieces) > 3
    assert stream.text == "".join(expected)
    finished = stream.finished
    assert finished is not None and finished.finish_reason in ("stop", "length")
    stats = finished.stats
    assert stats.generated_tokens == len(pieces)  # one token a chunk, as this server sends
    assert 0 < stats.time_to_first_token_s <= stats.total_s
    assert stats.generation_tokens_per_s > 0 and stats.seed == 1


def test_a_prompt_as_is_streams_from_completions(
    model: RemoteModel, official: openai.OpenAI, llama_cpp_server: LlamaCppServer
) -> None:
    prompt = "The capital of France is"
    sampling = Sampling(max_tokens=8, temperature=0.0, seed=3)
    with model.generate(GenerationRequest(prompt=prompt, sampling=sampling)) as stream:
        text = "".join(stream)
    expected = "".join(
        chunk.choices[0].text
        for chunk in official.completions.create(
            model=llama_cpp_server.model,
            prompt=prompt,
            stream=True,
            **openai_fields(sampling),  # type: ignore[arg-type]
        )
        if chunk.choices
    )
    assert text == expected and "Paris" in text


def test_logprobs_come_with_each_token(model: RemoteModel) -> None:
    with model.generate(
        GenerationRequest(
            messages=CHAT, sampling=Sampling(max_tokens=8, temperature=0.0), logprobs=3
        )
    ) as stream:
        text = "".join(stream)
    assert len(stream.tokens) == 8
    assert "".join(t.choice.text for t in stream.tokens) == text
    for token in stream.tokens:
        assert 1 <= len(token.alternatives) <= 3
        logprobs = [alternative.logprob for alternative in token.alternatives]
        assert logprobs == sorted(logprobs, reverse=True)  # best first
        assert token.alternatives[0].text == token.choice.text  # greedy: the best one
        assert token.choice.logprob <= 0


def test_a_json_schema_holds_the_answer(model: RemoteModel) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
        "required": ["answer"],
    }
    question = (ChatMessage("user", "Is the sky blue? Answer in JSON."),)
    constraint = OutputConstraint("json_schema", json.dumps(schema))
    with model.generate(
        GenerationRequest(messages=question, sampling=GREEDY, constraint=constraint)
    ) as stream:
        answer = json.loads("".join(stream))
    assert answer["answer"] in ("yes", "no")


def test_a_grammar_holds_the_answer(model: RemoteModel) -> None:
    grammar = OutputConstraint("grammar", 'root ::= "yes" | "no"')
    question = (ChatMessage("user", "Is the sky green?"),)
    with model.generate(
        GenerationRequest(messages=question, sampling=GREEDY, constraint=grammar)
    ) as stream:
        assert "".join(stream) in ("yes", "no")


def test_cancel_from_another_thread_ends_the_answer(model: RemoteModel) -> None:
    story = (ChatMessage("user", "Tell me a very long story about a lighthouse."),)
    sampling = Sampling(max_tokens=3000, temperature=1.0, seed=7)
    canceller = threading.Thread(target=lambda: stream.cancel())
    with model.generate(GenerationRequest(messages=story, sampling=sampling)) as stream:
        for _piece in stream:
            if len(stream.text) > 20 and canceller.ident is None:
                canceller.start()
    canceller.join()
    finished = stream.finished
    assert finished is not None and finished.finish_reason == "cancelled"
    assert len(stream.text) > 20 and finished.stats.generated_tokens < 3000
    # The server is free again: the next answer comes.
    with model.generate(GenerationRequest(messages=CHAT, sampling=Sampling(max_tokens=4))) as after:
        assert "".join(after)


def test_an_answer_the_server_ends_without_a_reason_is_kept_as_cut_short(
    model: RemoteModel, probed: tuple[ServerConnection, ServerProfile]
) -> None:
    """llama-cpp-python's server ends a stream (with [DONE], and no finish reason) when
    another request reaches it: another Lantern window, say, asking it for its models."""
    connection, _profile = probed
    story = (ChatMessage("user", "Tell me a very long story about a lighthouse."),)
    sampling = Sampling(max_tokens=3000, temperature=1.0, seed=7)
    with (
        model.generate(GenerationRequest(messages=story, sampling=sampling)) as stream,
        pytest.raises(RemoteAnswerCut, match=r"cut the answer short \(without saying why\)") as cut,
    ):
        asked = False
        for _piece in stream:
            if len(stream.text) > 20 and not asked:
                list_models(connection)
                asked = True
    assert "what it wrote until then is kept" in str(cut.value)
    assert len(stream.text) > 20


def test_token_counts_come_from_the_servers_tokenizer(
    model: RemoteModel, starter_model_path: Path
) -> None:
    vocabulary = llama_cpp.Llama(str(starter_model_path), vocab_only=True, verbose=False)
    for text in ("Hello world", "Grüße, 世界! <|im_start|>user"):
        expected = vocabulary.tokenize(text.encode(), add_bos=False, special=True)
        assert model.tokenize(text) == tuple(expected)
        assert model.count_tokens(text) == len(expected)
    vocabulary.close()


# ---- the service, against the real server ----


@pytest.fixture
def remotes(file_keyring: Path) -> Iterator[RemoteService]:
    service = RemoteService(app_paths().remotes_file)
    yield service
    service.close()


def test_adding_a_remote_tests_it_and_keeps_its_key_in_the_keyring(
    remotes: RemoteService, llama_cpp_server: LlamaCppServer, file_keyring: Path
) -> None:
    check = remotes.add("gpu-box", f"{llama_cpp_server.url}/v1/", llama_cpp_server.api_key)
    assert check.server == "llama-cpp-python" and check.latency_s > 0
    assert [m.id for m in check.models] == [llama_cpp_server.model]
    assert check.remote.url == llama_cpp_server.url  # without /v1
    assert llama_cpp_server.api_key not in app_paths().remotes_file.read_text()
    assert stored_api_key("gpu-box") == llama_cpp_server.api_key
    model_id = f"gpu-box:{llama_cpp_server.model}"
    assert [entry.id for entry in remotes.models()] == [model_id]
    with (
        remotes.model(model_id) as model,
        model.generate(GenerationRequest(messages=CHAT, sampling=GREEDY)) as s,
    ):
        assert "".join(s)  # held as a service holds a local model's lease
    remotes.remove("gpu-box")
    assert stored_api_key("gpu-box") is None
    with pytest.raises(RemoteNotFound):
        remotes.model(model_id)


def test_a_wrong_key_is_refused_and_nothing_is_kept(
    remotes: RemoteService, llama_cpp_server: LlamaCppServer, file_keyring: Path
) -> None:
    with pytest.raises(RemoteAccessDenied, match=r"refused the API key \(HTTP 401"):
        remotes.add("box", llama_cpp_server.url, "not-the-key")
    assert remotes.list() == []
    assert stored_api_key("box") is None


def test_an_unknown_model_is_named_with_those_the_server_has(
    remotes: RemoteService, llama_cpp_server: LlamaCppServer
) -> None:
    remotes.add("box", llama_cpp_server.url, llama_cpp_server.api_key)
    with pytest.raises(RemoteModelNotFound, match=r"has no model 'nope'\. It serves: /"):
        remotes.model("box:nope")


def test_nothing_listening_is_unreachable(remotes: RemoteService) -> None:
    with pytest.raises(RemoteUnreachable, match="nothing answers at that address and port"):
        remotes.add("box", f"http://127.0.0.1:{free_port()}")
    assert remotes.list() == []


# ---- against the stand-in: what the real server cannot be made to do ----


@pytest.fixture
def connect(stand_in: StandIn) -> Iterator[Callable[..., ServerConnection]]:
    """Connections to the stand-in (closed after the test): name, then ServerConnection's
    options; the stand-in's key unless another is given."""
    made: list[ServerConnection] = []

    def connection(
        name: str = "stand-in", api_key: str = API_KEY, **options: Any
    ) -> ServerConnection:
        made.append(ServerConnection(name, stand_in.url, api_key, **options))
        return made[-1]

    yield connection
    for each in made:
        each.close()


@pytest.fixture
def stand_in_model(connect: Callable[..., ServerConnection]) -> Callable[..., RemoteModel]:
    """A model of the stand-in, as a plain server (nothing probed): options as connect's."""

    def model(**options: Any) -> RemoteModel:
        return RemoteModel("stand-in", connect(**options), ServerProfile(), ServedModel(MODEL))

    return model


def test_busy_with_retry_after_is_asked_again_once_it_says(
    stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    stand_in.faults.append(Fault("busy", retry_after="1"))
    with stand_in_model().generate(GenerationRequest(messages=CHAT)) as stream:
        assert "".join(stream) == "".join(ANSWER)
    first, second = stand_in.generation_requests()
    assert second.at - first.at >= 1.0  # it waited as the server said


def test_a_server_busy_through_every_retry_says_so(
    stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    stand_in.faults.extend([Fault("unavailable")] * 3)  # no Retry-After: backing off
    with (
        stand_in_model(busy_retries=2).generate(GenerationRequest(messages=CHAT)) as stream,
        pytest.raises(RemoteBusy, match=r"busy \(HTTP 503.*after 3 tries"),
    ):
        list(stream)
    assert len(stand_in.generation_requests()) == 3 and stream.text == ""


def test_a_server_error_is_said_in_words(
    stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    stand_in.faults.append(Fault("server_error"))
    with (
        stand_in_model().generate(GenerationRequest(messages=CHAT)) as stream,
        pytest.raises(RemoteServerError, match=r"HTTP 500: CUDA error: out of memory"),
    ):
        list(stream)


def test_an_error_in_the_middle_of_the_answer_keeps_what_came(
    stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    stand_in.faults.append(Fault("error", after_pieces=2))
    with (
        stand_in_model().generate(GenerationRequest(messages=CHAT)) as stream,
        pytest.raises(RemoteServerError, match="the slot was lost"),
    ):
        list(stream)
    assert stream.text == "Hello,"


@pytest.mark.parametrize("kind", ["keepalive", "null_error"])
def test_events_a_client_passes_over_leave_the_answer_whole(
    kind: FaultKind, stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    """Events with no data (retry:, id:, event: ping, an empty data:) and chunks that say
    "error": null are no end and no error."""
    stand_in.faults.append(Fault(kind))
    with stand_in_model().generate(GenerationRequest(messages=CHAT)) as stream:
        assert "".join(stream) == "".join(ANSWER)
    assert stream.finished is not None and stream.finished.finish_reason == "stop"


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("bare_error", "failed in the middle of the answer: it gave no reason."),
        ("error_event", "failed in the middle of the answer: the server is overloaded."),
    ],
)
def test_an_error_in_any_shape_ends_the_answer_in_one_sentence(
    kind: FaultKind, said: str, stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    stand_in.faults.append(Fault(kind, after_pieces=2))
    with (
        stand_in_model().generate(GenerationRequest(messages=CHAT)) as stream,
        pytest.raises(RemoteServerError) as raised,
    ):
        list(stream)
    assert raised.value.message == f"The server stand-in {said}"
    assert stream.text == "Hello,"


@pytest.mark.parametrize("reason", ["abort", "error", "content_filter"])
def test_an_answer_ended_for_no_normal_reason_is_kept_as_cut_short(
    reason: str, stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    stand_in.faults.append(Fault("cut", after_pieces=3, finish_reason=reason))
    with (
        stand_in_model().generate(GenerationRequest(messages=CHAT)) as stream,
        pytest.raises(RemoteAnswerCut, match=f"cut the answer short \\({reason}\\); what it"),
    ):
        list(stream)
    assert stream.text == "Hello, world" and stream.finished is None
    assert issubclass(RemoteAnswerCut, EngineCrashed)  # kept and marked as after a crash


def test_a_closed_connection_says_so_in_words(
    connect: Callable[..., ServerConnection], stand_in: StandIn
) -> None:
    connection = connect()
    model = RemoteModel("stand-in", connection, ServerProfile(), ServedModel(MODEL))
    connection.close()  # as the service does when the remote is removed
    with pytest.raises(RemoteClosed, match="stand-in was closed: the remote was removed"):
        list_models(connection)
    with (
        model.generate(GenerationRequest(messages=CHAT)) as stream,
        pytest.raises(RemoteClosed, match="the remote was removed or changed"),
    ):
        list(stream)
    assert stand_in.log == []


@pytest.mark.parametrize("key", ["sk-é", "sk-“quoted”", "sk-zero\u200bwidth", "two words"])
def test_a_key_no_http_header_can_carry_is_refused_before_any_request(
    key: str, stand_in: StandIn
) -> None:
    with pytest.raises(InvalidRemote, match="characters an HTTP header cannot carry") as refused:
        ServerConnection("stand-in", stand_in.url, key)
    assert key not in str(refused.value)


def test_a_model_the_server_does_not_know_is_a_404(
    stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    stand_in.faults.append(Fault("not_found"))
    with (
        stand_in_model().generate(GenerationRequest(messages=CHAT)) as stream,
        pytest.raises(RemoteModelNotFound, match=f"has no model '{MODEL}'"),
    ):
        list(stream)


def test_a_wrong_key_is_a_401(connect: Callable[..., ServerConnection]) -> None:
    with pytest.raises(RemoteAccessDenied, match="stand-in refused the API key"):
        list_models(connect(api_key="wrong"))


def test_a_wrong_path_is_a_404_that_says_to_check_the_url(stand_in: StandIn) -> None:
    connection = ServerConnection("stand-in", f"{stand_in.url}/wrong", API_KEY)
    try:
        with pytest.raises(RemoteApiNotFound, match=r"has nothing at .*/wrong/v1/models.*Check"):
            list_models(connection)
    finally:
        connection.close()


@pytest.mark.parametrize("owner", [{"org": "lab"}, ["lab"], 7])
def test_a_listing_whose_owner_is_no_name_is_read_all_the_same(
    owner: object, stand_in: StandIn, connect: Callable[..., ServerConnection]
) -> None:
    stand_in.owned_by = owner
    listing = list_models(connect())
    assert [m.id for m in listing.models] == [MODEL] and listing.kind == "openai-compatible"


def test_a_connection_dropped_mid_answer_keeps_the_partial_answer(
    stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    stand_in.faults.append(Fault("drop", after_pieces=3))
    received = []
    with (
        stand_in_model().generate(GenerationRequest(messages=CHAT)) as stream,
        pytest.raises(RemoteConnectionLost, match="dropped in the middle of the answer"),
    ):
        received.extend(stream)
    assert stream.text == "".join(received) == "Hello, world"
    assert issubclass(RemoteConnectionLost, EngineCrashed)  # kept and marked as after a crash
    assert stream.finished is None


def test_cancel_ends_the_answer_at_once_while_the_server_is_silent(
    stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    stand_in.faults.append(Fault("stall", after_pieces=1))
    with stand_in_model().generate(GenerationRequest(messages=CHAT)) as stream:
        for piece in stream:
            assert piece == "Hello"
            threading.Thread(target=stream.cancel).start()
        still_silent = not stand_in.release.is_set()
    assert still_silent
    assert stream.finished is not None and stream.finished.finish_reason == "cancelled"
    assert stream.text == "Hello"


def test_stats_take_the_servers_usage(
    stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    with stand_in_model().generate(
        GenerationRequest(messages=CHAT, sampling=Sampling(max_tokens=5))
    ) as s:
        assert "".join(s) == "".join(ANSWER[:5])
    body = stand_in.generation_requests()[0].body
    assert body["stream_options"] == {"include_usage": True}
    assert s.stats is not None
    assert (s.stats.prompt_tokens, s.stats.generated_tokens) == (11, 5)


def test_a_plain_server_can_do_chat_only_and_says_why(
    connect: Callable[..., ServerConnection],
) -> None:
    connection = connect("plain")
    profile = probe_server(connection, list_models(connection))
    model = RemoteModel("plain", connection, profile, ServedModel(MODEL))
    caps = model.capabilities
    for reason in (caps.raw_completion, caps.logprobs, caps.grammar, caps.json_schema):
        assert reason is not None and reason.startswith("The server plain ")
    assert caps.exact_token_counts is not None and "estimates" in caps.exact_token_counts
    assert model.count_tokens("héllo world!") == estimated_tokens("héllo world!") == 4
    with pytest.raises(RemoteUnsupported, match="does not report token probabilities"):
        model.generate(GenerationRequest(messages=CHAT, logprobs=2))
    with pytest.raises(RemoteUnsupported, match="cannot go on from an answer cut short"):
        model.generate(GenerationRequest(messages=CHAT, continue_text="Once upon"))
    with pytest.raises(RemoteUnsupported, match="does not hold output to a GBNF grammar"):
        model.generate(
            GenerationRequest(messages=CHAT, constraint=OutputConstraint("grammar", 'root ::= "x"'))
        )


def test_a_chat_too_long_for_the_window_is_trimmed_or_refused(
    stand_in: StandIn, connect: Callable[..., ServerConnection]
) -> None:
    stand_in.context_length = 100
    connection = connect("small")
    (served,) = list_models(connection).models
    assert served.context_length == 100
    model = RemoteModel("small", connection, ServerProfile(), served)
    turn = "word " * 20  # 25 tokens by the estimate, with the message's own about 33
    chat = (
        ChatMessage("system", "Be brief."),
        *(ChatMessage(role, turn) for role in ("user", "assistant") * 2),
        ChatMessage("user", "And now?"),
    )
    sampling = Sampling(max_tokens=8)
    with pytest.raises(ContextOverflow, match="holds 100"):
        model.generate(GenerationRequest(messages=chat, sampling=sampling, context_policy="stop"))
    with model.generate(
        GenerationRequest(messages=chat, sampling=sampling, context_policy="drop_middle")
    ) as s:
        "".join(s)
    sent = stand_in.generation_requests()[-1].body["messages"]
    assert [m["content"] for m in sent] == ["Be brief.", turn, turn, "And now?"]
    assert s.stats is not None and s.stats.dropped_messages == 2


def test_max_tokens_is_held_to_what_a_stated_window_leaves(
    stand_in: StandIn, connect: Callable[..., ServerConnection]
) -> None:
    """vLLM refuses (HTTP 400) a request whose prompt and max_tokens exceed its window."""
    needed = sum(estimated_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS for m in CHAT)
    for stated in (100, None):
        stand_in.context_length = stated
        connection = connect()
        (served,) = list_models(connection).models
        model = RemoteModel("box", connection, ServerProfile(), served)
        with model.generate(GenerationRequest(messages=CHAT, sampling=Sampling())) as s:
            "".join(s)
        sent = stand_in.generation_requests()[-1].body["max_tokens"]
        # Within a stated window; a window Lantern assumes holds nothing back.
        assert sent == (100 - needed if stated else Sampling().max_tokens)
    assert 100 - needed < Sampling().max_tokens


def test_an_https_server_whose_certificate_no_one_trusts_is_refused() -> None:
    server = StandIn(tls=True).start()
    connection = ServerConnection("tls", server.url, API_KEY)
    try:
        with pytest.raises(RemoteUnreachable, match="TLS certificate could not be verified"):
            list_models(connection)
        assert server.log == []  # refused before any request, key and all, was sent
    finally:
        connection.close()
        server.stop()


class _Waits(logging.Handler):
    """The waits a connection announces before asking a busy server again."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self.announced = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "asking again" in record.msg:
            assert isinstance(record.args, tuple)
            self.seconds.append(float(record.args[-1]))
            self.announced.set()


def test_busy_retries_wait_no_longer_than_the_cap(
    stand_in: StandIn, stand_in_model: Callable[..., RemoteModel]
) -> None:
    stand_in.faults.append(Fault("busy", retry_after="3600"))
    waits = _Waits()
    logger = logging.getLogger("desktop.engine.remote_http")
    logger.addHandler(waits)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with stand_in_model().generate(GenerationRequest(messages=CHAT)) as stream:
            assert waits.announced.wait(30)
            stream.cancel()  # the wait ends at once: no test waits the cap out
            assert list(stream) == []
    finally:
        logger.removeHandler(waits)
        logger.setLevel(level)
    assert waits.seconds == [RETRY_AFTER_CAP_S] == [30.0]  # not the hour the server asked
    assert stream.finished is not None and stream.finished.finish_reason == "cancelled"
    assert len(stand_in.generation_requests()) == 1


def test_https_to_a_plain_http_server_says_to_use_http(stand_in: StandIn) -> None:
    connection = ServerConnection("plain", stand_in.url.replace("http:", "https:"), API_KEY)
    try:
        with pytest.raises(RemoteUnreachable, match="give its URL with http://"):
            list_models(connection)
    finally:
        connection.close()


def test_a_redirect_is_not_followed_but_named(
    stand_in: StandIn, connect: Callable[..., ServerConnection]
) -> None:
    stand_in.moved_to = f"{stand_in.url}/v1/models"  # followed, it would come back here
    with pytest.raises(RemoteServerError, match=f"on to {stand_in.url}/v1/models: add"):
        list_models(connect())
    assert len(stand_in.log) == 1  # not followed: the key went nowhere else
