"""How many threads a generation may use now: the cores that other programs leave free.

llama.cpp's threads meet at a spinning barrier after every operation of the graph. When
other programs keep the cores busy, a thread spins its time slice away waiting for one the
OS has not scheduled, and generation collapses rather than slows: on 2 cores under
`stress-ng --cpu 2`, the starter model made 0.7 tokens/s with 2 threads and 20 with 1 (40 on
the idle machine). So each request gets as many threads as the cores others left free over
the last second, at least one, at most the engine's default (the physical cores), asked
again between tokens. A request after a quiet spell (or the first one) is measured over a
fresh FRESH_SAMPLE_S: the average since the last request would hide a build started since.
The pool's own background engines (its other processes at a lower priority, engine/pool.py)
do not count against an engine of normal priority: they yield the cores to it. Any other
program counts, whatever its priority: with the scheduler's autogroups or cgroups, a
`nice make -j` in another session does not yield to the engine.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import psutil

from desktop.engine.priority import background_siblings

SAMPLE_INTERVAL_S = 1.0  # how often the load is read again while generating
STALE_AFTER_S = 2 * SAMPLE_INTERVAL_S  # a longer gap: no generation read the load meanwhile
FRESH_SAMPLE_S = 0.1  # short, as it delays the request; long enough to see the load


@dataclass(frozen=True)
class CpuReading:
    at: float  # time.monotonic()
    busy_s: float  # CPU seconds every program has used, all logical CPUs together
    own_s: float  # of which this process's threads (the engine's own generation)
    # Of which each of the pool's background engines beside this one, by pid: they yield.
    background_s: Mapping[int, float] = field(default_factory=dict)


def read_cpu() -> CpuReading:
    times = psutil.cpu_times()
    total = sum(times)
    # Linux counts guest time inside user and nice too; psutil.cpu_percent leaves it out.
    guest_nice = getattr(times, "guest_nice", 0.0)
    total -= getattr(times, "guest", 0.0) + guest_nice
    idle = times.idle + getattr(times, "iowait", 0.0)
    own = psutil.Process().cpu_times()
    background = {}
    for sibling in background_siblings():
        try:
            spent = sibling.cpu_times()
        except psutil.Error:  # ended meanwhile
            continue
        background[sibling.pid] = spent.user + spent.system
    return CpuReading(time.monotonic(), total - idle, own.user + own.system, background)


class CpuShare:
    """The load other programs put on the CPU: read again, at most once a second, when a
    generation asks for its thread count (between tokens too, so that a long answer gives
    cores back when a build starts, and takes them again when it ends); measured afresh
    when the last reading is stale."""

    def __init__(self, logical_cpus: int | None = None) -> None:
        self._logical = logical_cpus or psutil.cpu_count() or 1
        self._last = read_cpu()
        self._measured = False
        self._others_busy = 0.0  # logical CPUs other programs kept busy, lately

    def update(self, reading: CpuReading) -> None:
        last, self._last = self._last, reading
        wall = reading.at - last.at
        if wall <= 0:
            return
        # A background engine started since the last reading counts once, as others' load.
        yielding = sum(
            spent - last.background_s[pid]
            for pid, spent in reading.background_s.items()
            if pid in last.background_s
        )
        others = (reading.busy_s - last.busy_s) - (reading.own_s - last.own_s) - yielding
        self._others_busy = min(float(self._logical), max(0.0, others / wall))
        self._measured = True

    def threads(self, most: int) -> int:
        """Threads for a request now: `most` (physical cores) scaled by the share of the
        logical CPUs left free, rounded, at least 1."""
        since = time.monotonic() - self._last.at
        if since > STALE_AFTER_S or not self._measured:
            self._last = read_cpu()
            time.sleep(FRESH_SAMPLE_S)  # once per request after a quiet spell, at most
            self.update(read_cpu())
        elif since >= SAMPLE_INTERVAL_S:
            self.update(read_cpu())
        free = self._logical - self._others_busy
        return max(1, min(most, round(most * free / self._logical)))
