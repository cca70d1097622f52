"""The engine pool on the real starter model: several models at once, lanes, leases, room
made by ending idle processes, and a crash that leaves the other processes serving."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from desktop.engine.cancellation import Cancellation
from desktop.engine.pool import EnginePool, EngineSettings, ModelLease
from desktop.engine.protocol import ChatMessage, GenerationRequest, Sampling
from desktop.errors import (
    EngineClosed,
    EngineCrashed,
    EngineFailed,
    ModelNotLoadedYet,
    NotEnoughMemory,
    WaitCancelled,
)
from desktop.models.fit import MachineMemory, fit_estimate
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.paths import app_paths

pytestmark = pytest.mark.engine

CONTEXT = 1024
SETTINGS = EngineSettings(context_length=CONTEXT, threads=1)
# A raw prompt the starter model goes on with for as long as it is let: a long background
# generation to run beside a chat.
COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,"
LONG_RUN = Sampling(max_tokens=160, temperature=0.0)
HELLO = (ChatMessage("user", "Say hello."),)


@pytest.fixture
def two_models(installed_starter: InstalledModel) -> tuple[InstalledModel, InstalledModel]:
    """The starter model under a second name: two models, each with a file of its own."""
    paths = app_paths()
    shutil.copyfile(installed_starter.path, paths.models / "Second-Model.gguf")
    library = ModelLibrary(paths.models, paths.cache)
    return installed_starter, library.get("Second-Model")


def one_process_of(model: InstalledModel) -> int:
    """What the pool counts a first process of `model` as (the fit estimate's RAM)."""
    roomy = MachineMemory(ram_available=64 * 1024**3, gpu_free=0)
    return fit_estimate(model.info.shape, CONTEXT, roomy).in_ram


def make_pool(tmp_path: Path, budget: int | Budget | None = None) -> EnginePool:
    if budget is None:
        return EnginePool(tmp_path / "engine.log", SETTINGS)
    if isinstance(budget, Budget):
        return EnginePool(tmp_path / "engine.log", SETTINGS, budget=budget)
    return EnginePool(tmp_path / "engine.log", SETTINGS, budget=lambda _pids: budget)


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[EnginePool]:
    engines = make_pool(tmp_path)
    yield engines
    engines.close()


@pytest.fixture
def small_pool(tmp_path: Path, installed_starter: InstalledModel) -> Iterator[EnginePool]:
    """A pool with the memory for one process of the starter model (of either of two_models)."""
    engines = make_pool(tmp_path, budget=one_process_of(installed_starter))
    yield engines
    engines.close()


def answer(lease: ModelLease, max_tokens: int = 8) -> str:
    with lease.generate(
        GenerationRequest(messages=HELLO, sampling=Sampling(max_tokens=max_tokens))
    ) as stream:
        return "".join(stream)


def test_two_models_are_loaded_at_once_each_in_a_process_of_its_own(
    pool: EnginePool, two_models: tuple[InstalledModel, InstalledModel]
) -> None:
    first, second = two_models
    with pool.lease(first) as a, pool.lease(second) as b:
        assert a.pid != b.pid and a.pid is not None and b.pid is not None
        assert answer(a) and answer(b)
        shown = {(e.model_id, e.pid, e.task) for e in pool.engines()}
        assert shown == {(first.id, a.pid, "chat"), (second.id, b.pid, "chat")}
    # Released, both stay loaded for the next task, idle.
    assert [e.task for e in pool.engines()] == [None, None]
    with pool.lease(second) as again:
        assert again.pid == b.pid, "the idle process holding the model is lent again"


def test_a_chat_does_not_wait_for_a_background_generation_on_the_same_model(
    pool: EnginePool, installed_starter: InstalledModel
) -> None:
    with pool.lease(installed_starter, "background", "summary") as summary:
        assert psutil.Process(summary.pid).nice() == 19, "the background lane yields the CPU"
        with summary.generate(GenerationRequest(prompt=COUNTING, sampling=LONG_RUN)) as background:
            pieces = iter(background)
            next(pieces)  # the background generation is under way
            with pool.lease(installed_starter, "interactive", "chat") as chat:
                assert chat.pid != summary.pid
                assert psutil.Process(chat.pid).nice() == psutil.Process().nice()  # the app's own
                assert answer(chat)
            assert background.finished is None, "the chat ended while the summary went on"
            rest = "".join(pieces)
        assert background.finished is not None and background.finished.finish_reason == "length"
        assert background.stats is not None and background.stats.generated_tokens == 160
        assert rest


def test_without_room_for_a_second_process_a_chat_borrows_the_background_one(
    small_pool: EnginePool, installed_starter: InstalledModel
) -> None:
    """The background generation stops at a token for the chat, then goes on to its end."""
    with small_pool.lease(installed_starter, "background", "summary") as summary:
        with summary.generate(GenerationRequest(prompt=COUNTING, sampling=LONG_RUN)) as background:
            pieces = iter(background)
            before = next(pieces)
            with small_pool.lease(installed_starter, "interactive", "chat") as chat:
                assert chat.pid == summary.pid, "one process: the chat borrows it"
                [view] = small_pool.engines()
                assert (view.task, view.borrowed_by) == ("summary", "chat")
                assert answer(chat)
                assert background.finished is None
            after = "".join(pieces)
        finished = background.finished
        assert finished is not None and finished.finish_reason == "length"
        assert background.stats is not None and background.stats.generated_tokens == 160
        assert background.text == before + after
        assert after.lstrip()[:1].isdigit(), "it went on counting where it stopped"


def test_a_model_that_does_not_fit_beside_an_idle_one_ends_it_first(
    small_pool: EnginePool, two_models: tuple[InstalledModel, InstalledModel]
) -> None:
    first, second = two_models
    with small_pool.lease(first) as a:
        first_pid = a.pid
        answer(a)
    with small_pool.lease(second) as b:
        assert answer(b)
    assert [e.model_id for e in small_pool.engines()] == [second.id]
    assert first_pid is not None and not psutil.pid_exists(first_pid)


def test_a_chat_is_refused_rather_than_kept_waiting_for_a_summary_on_another_model(
    small_pool: EnginePool, two_models: tuple[InstalledModel, InstalledModel]
) -> None:
    first, second = two_models
    with (
        small_pool.lease(first, "background", "summary"),
        pytest.raises(NotEnoughMemory) as refused,
    ):
        small_pool.lease(second, "interactive", "chat")
    assert str(refused.value) == (
        f"{second.id} does not fit in memory beside {first.id} (a summary). Stop that "
        "task, or wait for it to end, or use the model it uses."
    )
    with small_pool.lease(second) as chat:  # the summary has ended: now it fits
        assert answer(chat)


def test_a_model_too_big_for_the_memory_is_refused_at_once(
    tmp_path: Path, installed_starter: InstalledModel
) -> None:
    with make_pool(tmp_path, budget=one_process_of(installed_starter) // 2) as pool:
        with pytest.raises(NotEnoughMemory, match=r"cannot be loaded\. Does not fit: needs"):
            pool.lease(installed_starter)
        assert pool.engines() == []


def test_a_crash_in_one_engine_leaves_the_others_serving(
    pool: EnginePool, two_models: tuple[InstalledModel, InstalledModel]
) -> None:
    first, second = two_models
    with pool.lease(first) as a, pool.lease(second) as b:
        crashed = a.pid
        assert crashed is not None
        os.kill(crashed, signal.SIGKILL)
        # Asked while it dies, a request fails as a crash; asked once it is dead, the lease
        # gives a fresh process the model (never "no model is loaded").
        with contextlib.suppress(EngineCrashed):
            answer(a)
        assert answer(b), "the other model still answers"
        assert answer(a), "the crashed model answers again, from a fresh process"
        assert a.pid not in (None, crashed)
    with pool.lease(first) as again:
        assert answer(again)


def test_a_request_after_a_crash_is_answered_by_a_fresh_process(
    pool: EnginePool, installed_starter: InstalledModel
) -> None:
    with pool.lease(installed_starter) as lease:
        crashed = lease.pid
        assert crashed is not None
        os.kill(crashed, signal.SIGKILL)
        # Dead, not reaped by this wait (the client may not have noticed yet); reaped
        # already (ChildProcessError) is dead too.
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, crashed, os.WEXITED | os.WNOWAIT)
        assert answer(lease)
        assert lease.pid not in (None, crashed)


def test_a_lease_keeps_its_model_for_every_step_whatever_the_chat_loads(
    pool: EnginePool, two_models: tuple[InstalledModel, InstalledModel]
) -> None:
    first, second = two_models
    with pool.lease(first, "background", "summary") as summary:
        pid = summary.pid
        steps = [answer(summary)]
        with pool.lease(second, "interactive", "chat") as chat:
            answer(chat)
        steps.append(answer(summary))
        assert summary.pid == pid and summary.loaded.model_path == str(first.path)
        assert all(steps)


def test_a_summary_after_a_chat_runs_in_a_background_process_not_the_chats(
    pool: EnginePool, installed_starter: InstalledModel
) -> None:
    with pool.lease(installed_starter, "interactive", "chat") as chat:
        chat_pid = chat.pid
        answer(chat)
    with pool.lease(installed_starter, "background", "summary") as summary:
        assert summary.pid != chat_pid
        assert psutil.Process(summary.pid).nice() == 19
    lanes = sorted((e.lane, e.task) for e in pool.engines())
    assert lanes == [("background", None), ("interactive", None)]


def test_without_room_for_a_second_process_a_summary_uses_the_idle_chat_process(
    small_pool: EnginePool, installed_starter: InstalledModel
) -> None:
    """Rather than unloading the model to load it again in another process."""
    with small_pool.lease(installed_starter, "interactive", "chat") as chat:
        chat_pid = chat.pid
    with small_pool.lease(installed_starter, "background", "summary") as summary:
        assert summary.pid == chat_pid
        assert answer(summary)


def test_embeddings_come_from_a_process_of_their_own_beside_the_chats(
    pool: EnginePool, installed_starter: InstalledModel
) -> None:
    with pool.embedder(installed_starter) as embedder, pool.lease(installed_starter) as chat:
        assert embedder.pid != chat.pid, "llama.cpp's embedding mode does not generate"
        vectors = embedder.embed(["A lighthouse on the point.", "Un phare sur la pointe."])
        assert answer(chat)
    assert vectors.shape == (2, embedder.loaded.embedding_size)
    assert [round(float((v * v).sum()), 4) for v in vectors] == [1.0, 1.0]
    views = sorted((e.lane, e.model_id) for e in pool.engines())
    assert views == [("background", installed_starter.id), ("interactive", installed_starter.id)]


# ---- what the review of the pool found ----


class Budget:
    """A memory budget the test changes (as other programs take memory meanwhile); `asked`
    is set whenever the pool reads it: a lease has looked for room."""

    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes
        self.asked = threading.Event()

    def __call__(self, _pids: list[int]) -> int:
        self.asked.set()
        return self.nbytes


def file_of(model: InstalledModel) -> int:
    return model.info.shape.file_bytes


def counting_until(stop_before: int, last: int) -> str:
    """The counting the starter model goes on with after COUNTING, from `stop_before` to
    `last`, as one stop string: while it writes it, every token is held back."""
    return " " + ", ".join(str(n) for n in range(stop_before, last + 1))


def test_a_crash_while_a_chat_borrows_the_summarys_process_loads_the_model_again(
    small_pool: EnginePool, installed_starter: InstalledModel
) -> None:
    """The summary goes on in a fresh process, at the background's priority, not with a
    'no model is loaded' error."""
    with small_pool.lease(installed_starter, "background", "summary") as summary:
        crashed_pid = summary.pid
        with summary.generate(GenerationRequest(prompt=COUNTING, sampling=LONG_RUN)) as background:
            pieces = iter(background)
            next(pieces)
            with small_pool.lease(installed_starter, "interactive", "chat") as chat:
                assert chat.pid == crashed_pid
                with chat.generate(GenerationRequest(prompt=COUNTING, sampling=LONG_RUN)) as s:
                    next(iter(s))
                    assert crashed_pid is not None
                    os.kill(crashed_pid, signal.SIGKILL)
                    with pytest.raises(EngineCrashed):
                        "".join(s)
            rest = "".join(pieces)
        assert background.finished is not None and background.finished.finish_reason == "length"
        assert rest and summary.pid not in (None, crashed_pid)
        assert psutil.Process(summary.pid).nice() == 19
    [view] = small_pool.engines()
    assert view.pid == summary.pid


def test_the_summary_stops_for_a_chat_only_once_the_chat_asks_something(
    small_pool: EnginePool, installed_starter: InstalledModel, caplog: pytest.LogCaptureFixture
) -> None:
    """A chat lent the summary's process that asks nothing (stopped before its turn), and a
    token count (a preview: it waits its turn in the process), leave the summary's step
    running: stopping it would make it read its whole prompt again."""
    caplog.set_level(logging.INFO, logger="desktop.engine")
    request = GenerationRequest(prompt=COUNTING, sampling=LONG_RUN)
    with (
        small_pool.lease(installed_starter, "background", "summary") as summary,
        summary.generate(request) as background,
    ):
        pieces = iter(background)
        next(pieces)
        with small_pool.lease(installed_starter, "interactive", "chat") as chat:
            assert chat.pid == summary.pid and chat.loaded.model_path == str(installed_starter.path)
        with small_pool.preview(installed_starter, "interactive", "playground") as look:
            assert look.pid == summary.pid
            assert look.count_tokens("How many tokens is this?") > 0
        "".join(pieces)
    assert background.stats is not None and background.stats.generated_tokens == 160
    assert "stopped for an interactive request" not in caplog.text


def test_text_held_back_at_a_pause_is_made_again_not_given_as_final(
    small_pool: EnginePool, installed_starter: InstalledModel
) -> None:
    """The summary's step has a stop string that the model is writing when the chat comes:
    what it held back (a possible start of the stop string) is not given as answer, so the
    stop string is still found after the pause, and the text is what it is without one."""
    stop = counting_until(15, 40)  # after " 13, 14," the model writes it, held back whole
    sampling = Sampling(max_tokens=200, temperature=0.0, stop=(stop,))
    request = GenerationRequest(prompt=COUNTING, sampling=sampling)
    with (
        small_pool.lease(installed_starter, "background", "summary") as summary,
        summary.generate(request) as background,
    ):
        pieces = iter(background)
        while not background.text.endswith("14,"):
            next(pieces)
        with small_pool.lease(installed_starter, "interactive", "chat") as chat:
            assert answer(chat)  # the summary stops, with " 15, 16, ..." held back
        "".join(pieces)
    assert background.text == " 13, 14,"
    assert background.finished is not None and background.finished.finish_reason == "stop"


def test_a_background_generation_left_half_way_is_stopped_and_counted(
    pool: EnginePool, installed_starter: InstalledModel
) -> None:
    with pool.lease(installed_starter, "background", "summary") as summary:
        background = summary.generate(GenerationRequest(prompt=COUNTING, sampling=LONG_RUN))
        pieces = iter(background)
        for _ in range(10):
            next(pieces)
        background.close()  # as the end of its `with` block does, or a surface that drops it
        finished = background.finished
        assert finished is not None and finished.finish_reason == "cancelled"
        assert 10 <= finished.stats.generated_tokens < 160
        assert answer(summary), "the next step runs at once"


def test_a_model_that_cannot_be_loaded_leaves_no_process_behind(
    pool: EnginePool, installed_starter: InstalledModel, tmp_path: Path
) -> None:
    broken = tmp_path / "Broken.gguf"
    broken.write_bytes(installed_starter.path.read_bytes()[: file_of(installed_starter) // 3])
    model = InstalledModel("Broken", broken, installed_starter.info)
    with pytest.raises(EngineFailed):
        pool.lease(model)
    assert pool.engines() == []


def test_the_weights_stay_counted_while_any_process_maps_them(
    tmp_path: Path, two_models: tuple[InstalledModel, InstalledModel]
) -> None:
    """Two processes of the first model: its file once, each one's own memory. The idle one
    (which loaded the file first) is not ended for the second model: that would not make
    room while the summary's process keeps the file mapped."""
    first, second = two_models
    one, weights = one_process_of(first), file_of(first)
    with make_pool(tmp_path, budget=2 * one - weights + weights // 2) as pool:
        with pool.lease(first, "interactive", "chat") as chat:
            chat_pid = chat.pid
        with pool.lease(first, "background", "summary") as summary:
            with pytest.raises(NotEnoughMemory, match="does not fit in memory beside"):
                pool.lease(second, "interactive", "chat")
            assert sorted(e.pid for e in pool.engines()) == sorted([chat_pid, summary.pid])
            assert chat_pid is not None and psutil.pid_exists(chat_pid)


def third_model(first: InstalledModel) -> InstalledModel:
    """The starter model under a third name, with a file of its own."""
    paths = app_paths()
    shutil.copyfile(first.path, paths.models / "Third-Model.gguf")
    return ModelLibrary(paths.models, paths.cache).get("Third-Model")


@pytest.fixture
def pool_for_two(
    tmp_path: Path, installed_starter: InstalledModel
) -> Iterator[tuple[EnginePool, Budget]]:
    """A pool with the memory for two processes of the starter model, and that memory."""
    budget = Budget(2 * one_process_of(installed_starter))
    engines = make_pool(tmp_path, budget=budget)
    yield engines, budget
    engines.close()


def test_idle_processes_are_not_ended_when_that_would_not_make_room(
    pool_for_two: tuple[EnginePool, Budget], two_models: tuple[InstalledModel, InstalledModel]
) -> None:
    first, second = two_models
    (pool, budget), one = pool_for_two, one_process_of(first)
    with pool.lease(second, "interactive", "chat") as chat:
        chat_pid = chat.pid
    with pool.lease(first, "background", "summary"):
        budget.nbytes = one + one // 2  # another program took memory
        with pytest.raises(NotEnoughMemory, match="does not fit in memory beside"):
            pool.lease(third_model(first), "interactive", "chat")
        assert chat_pid in [e.pid for e in pool.engines()], "the idle chat stays loaded"


def test_a_model_loaded_in_an_idle_process_is_lent_though_memory_grew_short(
    tmp_path: Path, installed_starter: InstalledModel
) -> None:
    budget = Budget(one_process_of(installed_starter))
    with make_pool(tmp_path, budget=budget) as pool:
        with pool.lease(installed_starter) as chat:
            loaded_pid = chat.pid
        budget.nbytes //= 2  # a browser took memory: no second process would fit now
        with pool.lease(installed_starter) as again:
            assert again.pid == loaded_pid
            assert answer(again)


def test_a_lease_waiting_for_memory_is_refused_once_nothing_is_left_to_wait_for(
    pool_for_two: tuple[EnginePool, Budget], two_models: tuple[InstalledModel, InstalledModel]
) -> None:
    first, second = two_models
    third = third_model(first)
    pool, budget = pool_for_two
    with ThreadPoolExecutor(1) as waiter:
        summary = pool.lease(first, "background", "summary")
        translation = pool.lease(second, "background", "translation")
        budget.asked.clear()
        indexing = waiter.submit(pool.lease, third, "background", "indexing")
        budget.asked.wait()  # it has looked for room, found none: it waits for a process
        budget.nbytes = one_process_of(first) // 2  # another program took memory meanwhile
        summary.release()
        translation.release()
        with pytest.raises(NotEnoughMemory, match="cannot be loaded"):
            indexing.result(timeout=120)  # a hang would fail here


def test_a_second_interactive_task_waits_for_one_borrowing_the_summarys_process(
    tmp_path: Path, installed_starter: InstalledModel
) -> None:
    """Rather than being refused as if the summary alone were in the way."""
    budget = Budget(one_process_of(installed_starter))
    with (
        make_pool(tmp_path, budget=budget) as pool,
        pool.lease(installed_starter, "background", "summary") as summary,
        ThreadPoolExecutor(1) as waiter,
    ):
        chat = pool.lease(installed_starter, "interactive", "chat")
        assert chat.pid == summary.pid
        budget.asked.clear()
        playground = waiter.submit(pool.lease, installed_starter, "interactive", "playground")
        budget.asked.wait()  # it has looked for room, found none
        chat.release()
        with playground.result(timeout=120) as lent:
            assert lent.pid == summary.pid
            assert answer(lent)


def test_a_chat_makes_room_for_a_process_of_its_own_rather_than_take_a_background_one(
    tmp_path: Path, two_models: tuple[InstalledModel, InstalledModel]
) -> None:
    """An idle background process runs at the lowest priority, which cannot be raised
    again: a chat on its model ends another idle model to run at the normal priority."""
    first, second = two_models
    with make_pool(tmp_path, budget=2 * one_process_of(first)) as pool:
        with pool.lease(first, "background", "summary") as summary:
            summary_pid = summary.pid
        with pool.lease(second, "interactive", "chat"):
            pass
        with pool.lease(first, "interactive", "chat") as chat:
            assert chat.pid != summary_pid
            assert psutil.Process(chat.pid).nice() == psutil.Process().nice()  # the app's own
        assert sorted(e.model_id for e in pool.engines()) == [first.id, first.id]


def test_a_lease_used_after_the_pool_closed_starts_no_engine(
    tmp_path: Path, installed_starter: InstalledModel
) -> None:
    pool = make_pool(tmp_path)
    lease = pool.lease(installed_starter)
    pool.close()
    with pytest.raises(EngineClosed):
        answer(lease)
    assert lease.pid is None
    with pytest.raises(EngineClosed):
        pool.lease(installed_starter)


def test_a_lease_waiting_for_the_model_stops_when_its_task_is_stopped(
    small_pool: EnginePool, two_models: tuple[InstalledModel, InstalledModel]
) -> None:
    first, second = two_models
    stop = Cancellation()
    with (
        small_pool.lease(first, "background", "summary") as summary,
        ThreadPoolExecutor(1) as waiter,
    ):
        translation = waiter.submit(
            small_pool.lease, second, "background", "translation", cancelled=stop
        )
        stop.set()
        with pytest.raises(WaitCancelled):
            translation.result(timeout=120)
        assert [e.pid for e in small_pool.engines()] == [summary.pid], "nothing was loaded"


def test_a_preview_counts_on_a_busy_process_and_unloads_nothing(
    tmp_path: Path, two_models: tuple[InstalledModel, InstalledModel]
) -> None:
    """A Playground count while a run holds the model: no second process, no other model
    ended for it; with no process of the model and no room, it is counted later."""
    first, second = two_models
    third = third_model(first)
    with make_pool(tmp_path, budget=2 * one_process_of(first)) as pool:
        with pool.lease(second, "interactive", "chat"):
            pass
        with pool.lease(first, "interactive", "playground") as run:
            with pool.preview(first, "interactive", "playground") as look:
                assert look.pid == run.pid
                assert look.count_tokens("one two three") == 3
            with pytest.raises(ModelNotLoadedYet):
                pool.preview(third, "interactive", "playground")
        assert sorted(e.model_id for e in pool.engines()) == sorted([first.id, second.id])
