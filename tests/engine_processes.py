"""Which engine process of a Lantern's pool a task runs in: for tests that end one."""

from __future__ import annotations

from typing import Any


def engine_pid_of(lantern: Any, task: str) -> int:
    """The pid of the engine process lent to `task` ("chat", "summary", ...) now."""
    pids = [view.pid for view in lantern.engines.engines() if view.task == task]
    assert len(pids) == 1 and pids[0] is not None, f"one engine process serves the {task}"
    return pids[0]
