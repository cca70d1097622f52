"""The services and the engine pool: a task waiting for its model stops when the user stops
it, and a token count pauses no run and unloads no model (real engines on the starter)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from desktop.engine.pool import EnginePool, EngineSettings
from desktop.errors import ModelNotLoadedYet
from desktop.models.fit import MachineMemory, fit_estimate
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.paths import app_paths
from desktop.services.chat import ChatService, ChatTurnRun
from desktop.services.playground import PlaygroundService
from desktop.services.playground_parameters import PlaygroundPrompt
from desktop.services.summarize import SummaryService
from desktop.tasks.documents import SourceText
from desktop.tasks.summary import SummaryOptions

pytestmark = pytest.mark.engine

TEXT = "The lighthouse keeper wrote every night. " * 20


class Budget:
    """Memory for `processes` processes of the starter; `asked` is set whenever a lease
    looks for room (it then waits, if it found none)."""

    def __init__(self, model: InstalledModel, context: int, processes: int) -> None:
        roomy = MachineMemory(ram_available=64 * 1024**3, gpu_free=0)
        self.nbytes = processes * fit_estimate(model.info.shape, context, roomy).in_ram
        self.asked = threading.Event()

    def __call__(self, _pids: list[int]) -> int:
        self.asked.set()
        return self.nbytes


def copy_of(model: InstalledModel, name: str) -> InstalledModel:
    paths = app_paths()
    shutil.copyfile(model.path, paths.models / f"{name}.gguf")
    return ModelLibrary(paths.models, paths.cache).get(name)


@pytest.fixture
def services(lantern: Any, installed_starter: InstalledModel) -> Iterator[dict[str, Any]]:
    """The chat, the Playground and Summarize on a pool with memory for one process; a
    second model beside the starter."""
    settings = lantern.settings
    context = min(settings.context_length, installed_starter.info.context_length)
    budget = Budget(installed_starter, context, 1)
    pool = EnginePool(
        lantern.paths.logs / "engine.log",
        EngineSettings(settings.context_length, threads=1),
        budget=budget,
    )
    other = copy_of(installed_starter, "Other-Model")
    db, models = lantern.database, lantern.models
    # Closed after the pool: a wait that did not end on Stop ends then (the test has failed).
    thread = ThreadPoolExecutor(1)
    yield {
        "thread": thread,
        "pool": pool,
        "budget": budget,
        "other": other,
        "chat": ChatService(db, models, pool, settings),
        "playground": PlaygroundService(db, models, pool, settings),
        "summarize": SummaryService(db, models, pool),
    }
    pool.close()
    thread.shutdown()


def test_a_chat_turn_waiting_for_its_model_stops_at_once_when_stopped(
    services: dict[str, Any], installed_starter: InstalledModel
) -> None:
    """A Playground run holds the memory with another model: the turn waits; Stop ends it,
    stopped, with nothing loaded and the run's model left alone."""
    pool, budget, other = services["pool"], services["budget"], services["other"]
    thread = services["thread"]
    with services["playground"].lease(other) as run:
        turn = ChatTurnRun(
            services["chat"], services["chat"].send("Hi", model_id=installed_starter.id)
        )
        budget.asked.clear()
        events = thread.submit(list, turn)
        budget.asked.wait()  # the turn has looked for room, found none: it waits
        turn.cancel()
        assert [type(e).__name__ for e in events.result(timeout=120)] == ["TurnStarted"]
        assert turn.outcome is not None and turn.outcome.status == "stopped"
        assert [e.pid for e in pool.engines()] == [run.pid]


def test_a_summary_waiting_for_its_model_ends_cancelled_when_stopped(
    services: dict[str, Any], installed_starter: InstalledModel
) -> None:
    pool, budget, other = services["pool"], services["budget"], services["other"]
    thread = services["thread"]
    with services["chat"].lease(other) as chat:
        run = services["summarize"].summarize(
            SourceText(TEXT), SummaryOptions(length="sentence"), model_id=installed_starter.id
        )
        budget.asked.clear()
        events = thread.submit(list, run)
        budget.asked.wait()
        run.cancel()
        assert events.result(timeout=120) == []
        assert run.outcome is not None and run.outcome.status == "cancelled"
        assert [e.pid for e in pool.engines()] == [chat.pid]


def test_a_count_during_a_run_neither_pauses_it_nor_unloads_a_model(
    services: dict[str, Any], installed_starter: InstalledModel
) -> None:
    """The Playground counts on the run's own process; Summarize's plan on a model that is
    not loaded, with no room for it beside the run, is left for when it is."""
    pool, playground, other = services["pool"], services["playground"], services["other"]
    with playground.lease(installed_starter) as run:
        preview = playground.preview(
            installed_starter.id, PlaygroundPrompt("raw", prompt="one two")
        )
        assert preview.tokens == len(run.tokenize("one two", add_special=True)) > 0
        assert preview.estimate is None
        with pytest.raises(ModelNotLoadedYet):
            services["summarize"].plan(
                SourceText(TEXT), SummaryOptions(length="sentence"), model_id=other.id
            )
        assert [e.pid for e in pool.engines()] == [run.pid]
