"""LangChain's `ChatOpenAI` and LlamaIndex's `OpenAILike`, real clients as programs use them,
against the real server on the starter model: the official client's greedy answer, whole and
streamed, and a wrong key refused. Nothing beyond 127.0.0.1 is reached on the way."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from api_server import CLIENT_TIMEOUT_S, Served
from langchain_openai import ChatOpenAI
from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike

QUESTION = "Say hello to the lighthouse keeper."
MAX_TOKENS = 24
WRONG_KEY = "lt-not-the-key"

# Both frameworks can count tokens with tiktoken, whose encodings are downloaded on first use
# (with no timeout), and LangChain can trace to LangSmith: a test must reach neither. While
# this is set, any host but this computer is refused at once, naming it.
OFFLINE = threading.Event()
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _refuse_other_hosts(event: str, args: tuple[Any, ...]) -> None:
    if not OFFLINE.is_set():
        return
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event == "socket.connect" and isinstance(args[1], tuple):
        host = args[1][0]
    else:
        return
    if isinstance(host, bytes):
        host = host.decode()
    if host is not None and host not in LOOPBACK:
        raise RuntimeError(f"A client reached for {host}: the tests reach only 127.0.0.1")


sys.addaudithook(_refuse_other_hosts)  # for good (a process's audit hooks stay): OFFLINE rules


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for tracing in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"):
        monkeypatch.delenv(tracing, raising=False)
    OFFLINE.set()
    yield
    OFFLINE.clear()


def official_answer(served: Served) -> str:
    """What the official client gets for QUESTION, greedy."""
    answer = served.client().chat.completions.create(
        model=served.model,
        messages=[{"role": "user", "content": QUESTION}],
        max_tokens=MAX_TOKENS,
        temperature=0,
    )
    text = answer.choices[0].message.content
    assert text
    return text


def langchain(served: Served, key: str) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=served.server.url,
        api_key=key,
        model=served.model,
        temperature=0,
        max_tokens=MAX_TOKENS,
        timeout=CLIENT_TIMEOUT_S,  # a hang ends in openai's APITimeoutError, not pytest's
        max_retries=0,
    )


def llama_index(served: Served, key: str, *, chat: bool, max_tokens: int) -> OpenAILike:
    return OpenAILike(
        api_base=served.server.url,
        api_key=key,
        model=served.model,
        is_chat_model=chat,
        # The context the server runs the starter at; no tokenizer: none is needed then.
        context_window=served.lantern.settings.context_length,
        temperature=0,
        max_tokens=max_tokens,
        timeout=CLIENT_TIMEOUT_S,
        max_retries=0,
    )


def test_langchain_invokes_and_streams_the_official_clients_answer(served: Served) -> None:
    answer = official_answer(served)
    chat = langchain(served, served.key)
    assert chat.invoke(QUESTION).content == answer
    pieces = [chunk.content for chunk in chat.stream(QUESTION) if chunk.content]
    assert len(pieces) > 1, "the answer arrives in several chunks"
    assert "".join(pieces) == answer


def test_langchain_is_refused_a_wrong_key(served: Served) -> None:
    with pytest.raises(openai.AuthenticationError):
        langchain(served, WRONG_KEY).invoke(QUESTION)


def test_llama_index_chats_and_streams_the_official_clients_answer(served: Served) -> None:
    answer = official_answer(served)
    llm = llama_index(served, served.key, chat=True, max_tokens=MAX_TOKENS)
    messages = [ChatMessage(role="user", content=QUESTION)]
    assert llm.chat(messages).message.content == answer
    deltas = [response.delta for response in llm.stream_chat(messages) if response.delta]
    assert len(deltas) > 1, "the answer arrives in several chunks"
    assert "".join(deltas) == answer
    # A chat model completes a prompt by chat: the prompt as the user's message.
    assert llm.complete(QUESTION).text == answer


def test_llama_index_completes_through_the_completions_endpoint(served: Served) -> None:
    prompt = "1, 2, 3, 4, 5,"
    official = served.client().completions.create(
        model=served.model, prompt=prompt, max_tokens=6, temperature=0
    )
    llm = llama_index(served, served.key, chat=False, max_tokens=6)
    assert llm.complete(prompt).text == official.choices[0].text
    streamed = [response.delta or "" for response in llm.stream_complete(prompt)]
    assert "".join(streamed) == official.choices[0].text
    assert {entry.endpoint for entry in served.logged(3)} == {"/v1/completions"}


def test_llama_index_is_refused_a_wrong_key(served: Served) -> None:
    llm = llama_index(served, WRONG_KEY, chat=True, max_tokens=MAX_TOKENS)
    with pytest.raises(openai.AuthenticationError):
        llm.chat([ChatMessage(role="user", content=QUESTION)])
