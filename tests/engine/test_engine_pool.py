"""The engine pool on the real starter model: several models at once, lanes, leases, room
made by ending idle processes, and a crash that leaves the other processes serving."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from desktop.engine.pool import EnginePool, EngineSettings, ModelLease
from desktop.engine.protocol import ChatMessage, GenerationRequest, Sampling
from desktop.errors import EngineCrashed, NotEnoughMemory
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


def make_pool(tmp_path: Path, budget: int | None = None) -> EnginePool:
    if budget is None:
        return EnginePool(tmp_path / "engine.log", SETTINGS)
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
                assert psutil.Process(chat.pid).nice() == 0
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
        assert a.pid is not None
        os.kill(a.pid, signal.SIGKILL)
        with pytest.raises(EngineCrashed):
            answer(a)
        assert answer(b), "the other model still answers"
    with pool.lease(first) as again:  # the next lease loads the model in a fresh process
        assert answer(again)


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
