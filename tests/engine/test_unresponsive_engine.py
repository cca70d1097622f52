"""The real engine under a hostile chat template, and an engine that does not answer Stop:
the user gets a clear message, keeps what was written, and the next request works. And a
healthy engine is never taken for an unresponsive one: Stop on a queued request, while a
long prompt is read, or by leaving a stream half-way, is answered in time.

An unresponsive engine is made for real, at the outermost boundary: SIGSTOP on its process."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from gguf import GGUFReader
from gguf_template import with_chat_template

from desktop.engine.client import EngineClient, GenerationStream
from desktop.engine.protocol import (
    ChatMessage,
    Finished,
    Generate,
    GenerationRequest,
    GenerationStats,
    OutputConstraint,
    Sampling,
    StageReached,
)
from desktop.errors import EngineCrashed, EngineUnresponsive, InvalidChatTemplate
from desktop.models.installed import InstalledModel

pytestmark = pytest.mark.engine

STORY = (ChatMessage("user", "Write a very long story about a lighthouse keeper."),)
HUNG = (ChatMessage("user", "loop"),)
GIGABYTES = (ChatMessage("user", "gigabytes"),)
# An answer that never ends by itself (the grammar allows no end): only Stop or max_tokens.
ENDLESS = OutputConstraint("grammar", 'root ::= "a" root')
# Some 3,000 tokens: six batches of the prompt to read.
LONG_PROMPT = (
    "<|im_start|>user\n"
    + "The keeper climbed the stairs and lit the lamp. " * 300
    + "<|im_end|>\n<|im_start|>assistant\n"
)


def _hostile_template(real: str) -> str:
    """The model's own template, but a message "loop" makes it loop without end (calling no
    function, so that nothing but a watchdog sees it) and "gigabytes" asks for 10 GB."""
    loop = (
        "{% set r = range(100000)|list %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}"
    )
    return (
        f"{{% if messages[-1]['content'] == 'loop' %}}{loop}"
        "{% elif messages[-1]['content'] == 'gigabytes' %}{{ 'a' * 10**10 }}"
        f"{{% else %}}{real}{{% endif %}}"
    )


@pytest.fixture(scope="session")
def hostile_model(starter_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-template")
    real = GGUFReader(starter_model_path).fields["tokenizer.chat_template"].contents()
    return with_chat_template(starter_model_path, folder / "hostile.gguf", _hostile_template(real))


def _engine(tmp_path: Path, **limits: float) -> EngineClient:
    return EngineClient(tmp_path / "engine.log", **limits)


@pytest.fixture
def hostile(tmp_path: Path, hostile_model: Path) -> Iterator[EngineClient]:
    client = _engine(tmp_path, stop_timeout_s=1.0)
    client.load(hostile_model, context_length=1024, threads=2)
    yield client
    client.close()


class Reading:
    """A stream iterated on a thread of its own, as the GUI's worker does."""

    def __init__(self, stream: GenerationStream) -> None:
        self.stream = stream
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for _ in self.stream:
                pass
        except BaseException as exc:  # handed to the test
            self.error = exc

    def end(self) -> None:
        self._thread.join(timeout=120)
        assert not self._thread.is_alive(), "the stream never ended"

    def stop(self) -> GenerationStats:
        """Press Stop and wait: answered by the engine itself, the answer ends as stopped."""
        self.stream.cancel()
        self.end()
        assert self.error is None and self.stream.finished is not None
        assert self.stream.finished.finish_reason == "cancelled"
        return self.stream.finished.stats


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _still_answers(engine: EngineClient) -> None:
    with engine.generate(
        GenerationRequest(messages=STORY, sampling=Sampling(max_tokens=4))
    ) as stream:
        assert "".join(stream)


def test_a_template_that_asks_for_gigabytes_is_refused_and_the_engine_lives_on(
    hostile: EngineClient,
) -> None:
    pid = hostile.pid
    assert pid is not None
    with (
        pytest.raises(InvalidChatTemplate) as refused,
        hostile.generate(GenerationRequest(messages=GIGABYTES)) as s,
    ):
        list(s)
    assert str(refused.value).startswith("This model's chat template could not be rendered: ")
    assert "10,000,000,000 characters" in str(refused.value)
    assert hostile.pid == pid  # not a crash: the same engine answers the next request
    assert psutil.Process(pid).memory_info().rss < 2**30  # and it never took the gigabytes
    _still_answers(hostile)


def test_a_template_that_loops_without_end_fails_after_its_time_limit(
    tmp_path: Path, hostile_model: Path
) -> None:
    with _engine(tmp_path, render_time_limit_s=0.5) as engine:
        engine.load(hostile_model, context_length=1024, threads=2)
        pid = engine.pid
        with (
            pytest.raises(InvalidChatTemplate, match=r"took longer than 0\.5 seconds"),
            engine.generate(GenerationRequest(messages=HUNG)) as stream,
        ):
            list(stream)
        assert engine.pid == pid and engine.loaded is not None
        _still_answers(engine)


def test_stop_during_a_render_that_never_ends_stops_it_and_the_engine_lives_on(
    tmp_path: Path, hostile_model: Path
) -> None:
    # The template's own time limit is far away: only Stop can end this render in time.
    with _engine(tmp_path, render_time_limit_s=600, stop_timeout_s=5) as engine:
        engine.load(hostile_model, context_length=1024, threads=2)
        pid = engine.pid
        reading = Reading(engine.generate(GenerationRequest(messages=HUNG)))
        assert reading.stream.wait_for_stage("rendering", timeout=60)
        reading.stop()  # within the Stop limit: nothing ended
        assert engine.pid == pid
        _still_answers(engine)


def test_an_engine_stuck_while_rendering_is_ended_without_waiting_for_ever(
    tmp_path: Path, hostile_model: Path, installed_starter: InstalledModel
) -> None:
    # Stuck where it cannot help itself (native code, say): SIGSTOP. No one presses Stop.
    with _engine(tmp_path, render_time_limit_s=0.5, stop_timeout_s=0.5) as engine:
        engine.load(hostile_model, context_length=1024, threads=2)
        pid = engine.pid
        assert pid is not None
        reading = Reading(engine.generate(GenerationRequest(messages=HUNG)))
        assert reading.stream.wait_for_stage("rendering", timeout=60)
        os.kill(pid, signal.SIGSTOP)
        reading.end()
        assert isinstance(reading.error, EngineUnresponsive)
        assert "spent more than 1 seconds on this model's chat template" in str(reading.error)
        assert _gone(pid) and engine.loaded is None
        engine.load(installed_starter.path, context_length=1024, threads=2)
        assert engine.pid not in (None, pid)
        _still_answers(engine)


def test_stop_unanswered_mid_answer_ends_the_engine_and_keeps_the_text(
    tmp_path: Path, installed_starter: InstalledModel
) -> None:
    with _engine(tmp_path, stop_timeout_s=1.0) as engine:
        engine.load(installed_starter.path, context_length=1024, threads=2)
        pid = engine.pid
        assert pid is not None
        received: list[str] = []
        stream = engine.generate(
            GenerationRequest(messages=STORY, sampling=Sampling(max_tokens=400))
        )
        with pytest.raises(EngineUnresponsive) as raised, stream:
            for piece in stream:
                received.append(piece)
                if len(received) == 3:
                    os.kill(pid, signal.SIGSTOP)  # the engine freezes mid-answer...
                    stream.cancel()  # ...and the user presses Stop
        message = raised.value.message
        assert message.startswith("The model engine did not stop within 1 seconds of Stop")
        assert "What was written so far is kept" in message
        assert stream.text == "".join(received) and len(received) >= 3
        assert _gone(pid) and engine.loaded is None and engine.pid is None
        engine.load(installed_starter.path, context_length=1024, threads=2)
        assert engine.pid not in (None, pid)
        _still_answers(engine)


def test_stop_on_a_request_queued_behind_another_is_answered_at_once(
    tmp_path: Path, installed_starter: InstalledModel
) -> None:
    # A chat turn queued behind a summary step, say: its Stop must not wait for the step.
    with _engine(tmp_path) as engine:
        engine.load(installed_starter.path, context_length=1024)
        pid = engine.pid
        running = Reading(
            engine.generate(
                GenerationRequest(
                    messages=STORY, sampling=Sampling(max_tokens=1000), constraint=ENDLESS
                )
            )
        )
        assert running.stream.wait_for_stage("reading_prompt", timeout=60)
        queued = engine.generate(GenerationRequest(messages=STORY, sampling=Sampling(max_tokens=4)))
        queued.cancel()
        assert list(queued) == []
        assert queued.finished is not None and queued.finished.finish_reason == "cancelled"
        running.stop()  # it went on meanwhile, until its own Stop
        assert engine.pid == pid
        _still_answers(engine)


def test_stop_while_a_long_prompt_is_read_stops_between_batches(
    tmp_path: Path, installed_starter: InstalledModel
) -> None:
    with _engine(tmp_path) as engine:
        engine.load(installed_starter.path, context_length=4096)
        pid = engine.pid

        def stopped_while_reading() -> GenerationStats:
            reading = Reading(
                engine.generate(
                    GenerationRequest(prompt=LONG_PROMPT, sampling=Sampling(max_tokens=4))
                )
            )
            assert reading.stream.wait_for_stage("reading_prompt", timeout=60)
            return reading.stop()

        first = stopped_while_reading()
        again = stopped_while_reading()  # the same prompt: what the first read is cached
        # The first stopped part-way through the prompt, not after reading all of it.
        assert again.prompt_tokens == first.prompt_tokens
        assert again.cached_prompt_tokens < again.prompt_tokens - 1
        assert engine.pid == pid
        _still_answers(engine)


def test_leaving_a_stream_half_way_stops_the_answer_for_the_next_request(
    tmp_path: Path, installed_starter: InstalledModel
) -> None:
    with _engine(tmp_path) as engine:
        engine.load(installed_starter.path, context_length=1024)
        left = engine.generate(
            GenerationRequest(
                messages=STORY, sampling=Sampling(max_tokens=1000), constraint=ENDLESS
            )
        )
        for _ in left:
            break  # as a caller does that has what it wanted
        _still_answers(engine)  # served once the first has stopped
        left.close()  # reads what the engine said of the first
        assert left.finished is not None and left.finished.finish_reason == "cancelled"


def _events_of(engine: EngineClient, request: Generate) -> list[object]:
    """What the engine sends for `request`, up to Finished (the client's own inbox)."""
    _, inbox = engine._submit(lambda rid: dataclasses.replace(request, request_id=rid))
    events: list[object] = []
    while not events or not isinstance(events[-1], Finished):
        events.append(inbox.get(timeout=120))
    return events


def test_the_engine_announces_each_render_of_a_chat_it_trims_to_fit(
    tmp_path: Path, installed_starter: InstalledModel
) -> None:
    # Each render has its own time limit, so the app times each from its announcement:
    # a long chat trimmed under load must not add up to one hostile-looking render.
    turns = [ChatMessage("user" if i % 2 == 0 else "assistant", "word " * 120) for i in range(16)]
    chat = (*turns, ChatMessage("user", "And now?"))
    with _engine(tmp_path) as engine:
        engine.load(installed_starter.path, context_length=1024)
        events = _events_of(
            engine,
            Generate(
                0,
                GenerationRequest(
                    chat, sampling=Sampling(max_tokens=1), context_policy="drop_middle"
                ),
            ),
        )
        finished = events[-1]
        assert isinstance(finished, Finished) and finished.stats.dropped_messages >= 4
        renders = [e for e in events if isinstance(e, StageReached) and e.stage == "rendering"]
        # One render, then one per turn left out (a user message and its answer).
        assert len(renders) == 1 + finished.stats.dropped_messages // 2


class _Unreadable:
    """Pickles to a call that fails in the engine as it unpickles it."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (int, ("not a request",))


def test_a_request_the_engine_cannot_read_ends_it_as_a_crash(
    tmp_path: Path, installed_starter: InstalledModel
) -> None:
    with _engine(tmp_path) as engine:
        engine.load(installed_starter.path, context_length=1024)
        pid = engine.pid
        assert pid is not None and engine._conn is not None
        engine._conn.send(_Unreadable())  # as a damaged message would arrive
        error: BaseException | None
        try:
            stream = engine.generate(
                GenerationRequest(messages=STORY, sampling=Sampling(max_tokens=4))
            )
        except EngineCrashed as crashed:  # the engine was gone already
            error = crashed
        else:
            reading = Reading(stream)
            reading.end()
            error = reading.error
        assert isinstance(error, EngineCrashed) and not isinstance(error, EngineUnresponsive)
        assert _gone(pid) and engine.loaded is None
        engine.load(installed_starter.path, context_length=1024)
        _still_answers(engine)
