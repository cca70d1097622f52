"""The API under what goes wrong: a client that hangs up mid-stream, many clients at once, a
full queue, an engine that dies mid-answer. The server stays up through all of it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
from api_server import Served, serve
from engine_processes import engine_pid_of

from desktop.models.installed import InstalledModel
from desktop.server.options import ServerOptions
from desktop.server.runner import ServerHandle
from desktop.services.app import Lantern
from desktop.services.serving import ServingService

# A raw prompt the starter model goes on counting from, for as long as it is let.
COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"
LONG = 2000  # tokens: far more than any test waits for
WAIT_S = 240.0


def test_a_client_that_hangs_up_mid_stream_stops_its_generation(served: Served) -> None:
    stream = served.client().completions.create(
        model=served.model, prompt=COUNTING, max_tokens=LONG, temperature=0, stream=True
    )
    first = next(iter(stream))
    assert first.choices[0].text
    stream.close()  # hangs up

    [entry] = served.logged(1)
    assert (entry.endpoint, entry.status, entry.finish_reason) == (
        "/v1/completions",
        200,
        "cancelled",
    )
    assert entry.completion_tokens is not None and 0 < entry.completion_tokens < LONG
    assert served.service.generations() == []
    assert served.service.admission.state().running == 0

    again = served.client().chat.completions.create(
        model=served.model,
        messages=[{"role": "user", "content": "Hi"}],
        max_tokens=4,
        temperature=0,
    )
    assert again.choices[0].message.content


def test_a_client_that_hangs_up_while_waiting_its_turn_leaves_the_queue(served: Served) -> None:
    held = served.service.admission.enter(served.model)  # the model is busy meanwhile
    body = json.dumps(served.chat("Hi", max_tokens=4)).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{served.server.port}\r\n"
        f"Authorization: Bearer {served.key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", served.server.port)) as client:
            client.sendall(request + body)
            assert served.service.admission.wait_until(lambda s: s.waiting == 1, WAIT_S)
        [entry] = served.logged(1)  # it hung up: the request ended unanswered
    finally:
        held.leave()
    assert entry.finish_reason == "cancelled" and entry.completion_tokens is None
    assert served.service.admission.state().waiting == 0


def test_eight_concurrent_streams_all_complete(served: Served) -> None:
    async def stream(client: openai.AsyncOpenAI, number: int) -> str:
        chunks = await client.chat.completions.create(
            model=served.model,
            messages=[{"role": "user", "content": f"Name a color, number {number}."}],
            max_tokens=12,
            temperature=0,  # greedy: each answer is known to have words
            stream=True,
        )
        return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])

    async def all_of_them() -> list[str]:
        async with served.async_client() as client:
            return await asyncio.gather(*(stream(client, n) for n in range(8)))

    answers = asyncio.run(all_of_them())
    assert len(answers) == 8 and all(answer.strip() for answer in answers)
    entries = served.logged(8)
    assert [e.status for e in entries] == [200] * 8
    assert all(e.completion_tokens for e in entries)


@pytest.fixture
def short_queue(
    lantern: Lantern, installed_starter: InstalledModel, file_keyring: Path
) -> Iterator[Served]:
    """A server whose queue holds one waiting request."""
    service = ServingService(lantern.models, lantern.engines, lantern.settings, queue_capacity=1)
    running = serve(lantern, service, installed_starter)
    yield running
    running.server.stop()


def test_a_full_queue_answers_429_with_retry_after(short_queue: Served) -> None:
    service = short_queue.service
    held = service.admission.enter(short_queue.model)  # being served: the model is busy
    with ThreadPoolExecutor(1) as pool:
        waiting: Future[openai.types.chat.ChatCompletion] | None = None
        try:
            waiting = pool.submit(
                short_queue.client().chat.completions.create,
                model=short_queue.model,
                messages=[{"role": "user", "content": "Hi"}],
                max_tokens=4,
                temperature=0,
            )
            assert service.admission.wait_until(lambda s: s.waiting == 1, WAIT_S)
            with short_queue.http() as http:
                refused = http.post("/v1/chat/completions", json=short_queue.chat("Hi"))
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["error"]["code"] == "server_busy"
            with pytest.raises(openai.RateLimitError):
                short_queue.client().chat.completions.create(
                    model=short_queue.model, messages=[{"role": "user", "content": "Hi"}]
                )
        finally:
            held.leave()
        assert waiting is not None
        assert waiting.result(WAIT_S).choices[0].message.content  # served in its turn


def test_an_engine_crash_mid_answer_is_503_and_the_server_stays_up(served: Served) -> None:
    client = served.client()
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(
            client.completions.create, model=served.model, prompt=COUNTING, max_tokens=LONG
        )
        assert served.service.admission.wait_until(lambda s: s.running == 1, WAIT_S)
        [generation] = served.service.generations()
        assert generation.wait_for_stage("generating", WAIT_S)
        os.kill(engine_pid_of(served.lantern, "api"), signal.SIGKILL)
        with pytest.raises(openai.InternalServerError) as crashed:
            answer.result(WAIT_S)
    assert crashed.value.status_code == 503
    assert crashed.value.code == "engine_stopped"

    again = client.chat.completions.create(
        model=served.model,
        messages=[{"role": "user", "content": "Hi"}],
        max_tokens=4,
        temperature=0,
    )
    assert again.choices[0].message.content


def test_an_engine_crash_mid_stream_ends_it_with_an_error_event(served: Served) -> None:
    stream = served.client().completions.create(
        model=served.model, prompt=COUNTING, max_tokens=LONG, stream=True
    )
    chunks = iter(stream)
    assert next(chunks).choices[0].text
    os.kill(engine_pid_of(served.lantern, "api"), signal.SIGKILL)
    with pytest.raises(openai.APIError, match="model engine stopped unexpectedly"):
        for _ in chunks:
            pass
    assert served.client().models.list().data


def test_the_windows_chat_and_the_api_do_not_wait_for_each_other(served: Served) -> None:
    turn = served.lantern.chat.send("Write a long story.", max_tokens=300, temperature=0)
    pieces = iter(turn)
    assert next(pieces)  # the window's chat is answering
    stream = served.client().completions.create(
        model=served.model, prompt=COUNTING, max_tokens=LONG, temperature=0, stream=True
    )
    chunks = iter(stream)
    assert next(chunks).choices[0].text  # and the API answers meanwhile
    views = {view.task: view.pid for view in served.lantern.engines.engines()}
    assert set(views) == {"api", "chat"} and views["api"] != views["chat"]
    for _ in pieces:
        pass
    assert turn.outcome is not None and turn.outcome.status == "complete"
    assert next(chunks).choices[0].text  # the API's answer went on all along
    stream.close()


def test_stopping_the_server_ends_what_it_serves_and_lets_it_start_again(served: Served) -> None:
    stream = served.client().completions.create(
        model=served.model, prompt=COUNTING, max_tokens=LONG, temperature=0, stream=True
    )
    chunks = iter(stream)
    assert next(chunks).choices[0].text
    port = served.server.port
    served.server.stop()  # as the window's Stop does
    rest = list(chunks)  # the answer ends (cut short), rather than run to LONG tokens
    assert rest[-1].choices[0].finish_reason == "stop"
    [entry] = served.logged(1)
    assert entry.finish_reason == "cancelled" and (entry.completion_tokens or 0) < LONG
    with ServerHandle(served.service, ServerOptions(port=port)):  # as a restart does
        assert served.client().models.list().data
