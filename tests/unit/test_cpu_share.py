"""The engine's thread count follows the cores other programs leave free: llama.cpp's
spinning threads collapse when they outnumber them (0.7 tokens/s instead of 20, measured)."""

from __future__ import annotations

import dataclasses
import os
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


def test_the_pools_background_engines_do_not_count_as_load() -> None:
    """Five CPU-seconds between two readings, four of them a background engine's beside
    this one: one second of others' load over two. The OS's counters are given, as no test
    can make other programs' time exact."""
    now = time.monotonic()
    share = CpuShare(logical_cpus=2)
    share.update(CpuReading(at=now - 2.0, busy_s=0.0, own_s=0.0, background_s={41: 10.0}))
    share.update(CpuReading(at=now, busy_s=5.0, own_s=0.0, background_s={41: 14.0}))
    assert share.threads(100) == 75


def test_other_programs_at_a_low_priority_count_as_load(
    busy_programs: list[psutil.Process],
) -> None:
    """A `nice make -j` in another session does not yield to the engine (the scheduler's
    autogroups, cgroups): only the pool's own background engines are left out."""
    for program in busy_programs:
        program.nice(19)
    share = CpuShare()
    _burn_a_cpu_second_each(busy_programs)
    assert share.threads(100) < 50


# A program that does nothing until its input is closed (or it is killed).
IDLER = "import sys; sys.stdin.read()"


@pytest.mark.parametrize("app_niceness", [0, 5], ids=["app-as-started", "app-started-niced"])
def test_background_engines_are_the_apps_other_children_at_a_low_priority(
    app_niceness: int,
) -> None:
    """Seen from an engine process of the app's priority: its sibling at nice 19 is one, not
    its sibling at the app's priority, nor a niced program the app did not start. Also where
    the app itself was started with `nice`: its engines start as nice as it is."""
    app = (
        f"import os, subprocess, sys\nIDLER = {IDLER!r}\nPIPE = subprocess.PIPE\n"
        "lowered = lambda: os.nice(19)\n"
        "niced = subprocess.Popen([sys.executable, '-c', IDLER], stdin=PIPE, preexec_fn=lowered)\n"
        "normal = subprocess.Popen([sys.executable, '-c', IDLER], stdin=PIPE)\n"
        "engine = subprocess.run([sys.executable, '-c', 'from desktop.engine.priority import "
        "background_siblings; print(sorted(p.pid for p in background_siblings()))'], "
        "capture_output=True, text=True, check=True)\n"
        "print(niced.pid, normal.pid, engine.stdout.strip())\n"
        "for program in (niced, normal): program.stdin.close(); program.wait()\n"
    )
    stranger = subprocess.Popen(
        [sys.executable, "-c", IDLER], stdin=subprocess.PIPE, preexec_fn=lambda: os.nice(19)
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", app],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            preexec_fn=lambda: os.nice(app_niceness),
        ).stdout.split(maxsplit=2)
    finally:
        assert stranger.stdin is not None
        stranger.stdin.close()  # it ends
        stranger.wait()
    niced, normal, seen = int(out[0]), int(out[1]), out[2].strip()
    assert seen == f"[{niced}]"
    assert str(normal) not in seen and str(stranger.pid) not in seen


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
