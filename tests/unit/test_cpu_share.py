"""The engine's thread count follows the cores other programs leave free: llama.cpp's
spinning threads collapse when they outnumber them (0.7 tokens/s instead of 20, measured)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from desktop.engine.cpu_share import CpuReading, CpuShare, read_cpu


def share_after(logical: int, *, wall: float, busy: float, own: float) -> CpuShare:
    """A share whose last reading is now: `threads()` uses it without reading again."""
    now = time.monotonic()
    share = CpuShare(logical_cpus=logical)
    share.update(CpuReading(at=now - wall, busy_s=0.0, own_s=0.0))
    share.update(CpuReading(at=now, busy_s=busy, own_s=own))
    return share


@pytest.mark.parametrize(
    ("logical", "physical", "busy", "own", "threads"),
    [
        (2, 2, 0.1, 0.0, 2),  # an idle machine: every core
        (2, 2, 2.0, 0.0, 1),  # stress-ng --cpu 2 on 2 cores: one thread, never none
        (2, 2, 1.0, 0.0, 1),  # one core taken
        (2, 2, 2.0, 2.0, 2),  # the engine's own generation is not someone else's load
        (2, 2, 0.3, 0.0, 2),  # the window drawing tokens does not cost a thread
        (16, 8, 8.0, 0.0, 4),  # a build on half the hyper-threads: half the cores
        (16, 8, 16.0, 0.0, 1),
    ],
)
def test_threads_are_the_cores_others_leave_free(
    logical: int, physical: int, busy: float, own: float, threads: int
) -> None:
    share = share_after(logical, wall=1.0, busy=busy, own=own)
    assert share.threads(physical) == threads


@pytest.fixture
def busy_programs() -> Iterator[list[psutil.Process]]:
    """As many CPU-bound programs as the machine has logical CPUs."""
    count = psutil.cpu_count() or 1
    popens = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    yield [psutil.Process(p.pid) for p in popens]
    for popen in popens:
        popen.kill()
        popen.wait()


def _burn_a_cpu_second_each(busy_programs: list[psutil.Process]) -> None:
    """Until the busy programs have run a CPU-second each (a state of theirs, whatever the
    machine's speed)."""
    start = sum(p.cpu_times().user for p in busy_programs)
    while sum(p.cpu_times().user for p in busy_programs) - start < len(busy_programs):
        psutil.wait_procs(busy_programs, timeout=0.05)  # a poll of their state, not a spin


def test_other_programs_keeping_every_cpu_busy_leave_the_engine_one_thread(
    busy_programs: list[psutil.Process],
) -> None:
    """The first generation after the engine starts: measured then, on a fresh sample."""
    share = CpuShare()
    _burn_a_cpu_second_each(busy_programs)
    assert share.threads(psutil.cpu_count(logical=False) or 1) == 1
    # Others keep more than half the CPUs busy: fewer than half the threads of any number.
    assert share.threads(100) < 50


def test_a_request_after_a_quiet_spell_sees_the_load_of_now(
    busy_programs: list[psutil.Process],
) -> None:
    """Ten quiet minutes since the last reading, then a build: an average since that
    reading would hide the build."""
    now = read_cpu()
    share = CpuShare()
    share.update(dataclasses.replace(now, at=now.at - 601))
    share.update(dataclasses.replace(now, at=now.at - 600))  # a quiet second, ten minutes ago
    _burn_a_cpu_second_each(busy_programs)
    assert share.threads(100) < 50


@pytest.mark.parametrize(("own_niceness", "counted"), [(0, 0.0), (19, 5.0)])
def test_lower_priority_time_counts_only_for_an_engine_of_lower_priority(
    monkeypatch: pytest.MonkeyPatch, own_niceness: int, counted: float
) -> None:
    """Five CPU-seconds of niced programs (the pool's background lane) between two readings:
    the chat's engine (normal priority) does not count them, a background engine does. The
    OS's counters are given, as no test can make other programs' time exact."""
    before = psutil.cpu_times()
    after = before._replace(nice=before.nice + 5.0)
    times = iter([before, after])
    monkeypatch.setattr(psutil, "cpu_times", lambda: next(times))
    monkeypatch.setattr(psutil.Process, "nice", lambda _self: own_niceness)
    first, second = read_cpu(), read_cpu()
    assert second.busy_s - first.busy_s == pytest.approx(counted)


def test_a_background_engine_counts_the_programs_beside_it(
    busy_programs: list[psutil.Process],
) -> None:
    """An engine at a low priority gives cores up to the programs of normal priority (the
    chat's engine) as it would to any other."""
    background_engine = (
        "import os, sys; os.nice(19)\n"
        "from desktop.engine.cpu_share import CpuShare\n"
        "share = CpuShare(); sys.stdin.readline(); print(share.threads(100))"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", background_engine],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    _burn_a_cpu_second_each(busy_programs)
    threads, _ = reader.communicate("go\n", timeout=60)
    assert int(threads) < 50
