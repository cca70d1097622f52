"""The engine pool's background lane at a lower OS priority, and how an engine process tells
its background siblings apart (engine/cpu_share.py leaves their CPU time out).

The background lane runs at nice 19 on Linux and macOS: the lowest priority, which the
scheduler still gives a small share of the CPU, so a summary goes on slowly beside a busy
chat. On Windows it runs in the BELOW_NORMAL class, not IDLE: Windows' classes are strict,
and the IDLE class would not run at all while any program of normal priority keeps a core
busy (a browser, a build), stalling a summary for as long.
"""

from __future__ import annotations

import logging
import os
import sys

import psutil

log = logging.getLogger(__name__)

_LOWERED_CLASSES = ("BELOW_NORMAL_PRIORITY_CLASS", "IDLE_PRIORITY_CLASS")


def lower_priority(pid: int | None) -> None:
    """Run `pid` (a background lane's process) at the background lane's priority."""
    if pid is None:
        return
    try:
        process = psutil.Process(pid)
        if sys.platform == "win32":
            process.nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
        else:
            process.nice(19)
    except (psutil.Error, OSError) as exc:
        log.warning("Could not lower engine process %s's priority: %s", pid, exc)


def runs_lowered(process: psutil.Process, app: psutil.Process) -> bool:
    """Whether `process` runs below the app's priority (a background lane's engine). Below
    the app's, not below normal: an app started with `nice` starts its engines as nice."""
    try:
        nice, app_nice = process.nice(), app.nice()
    except (psutil.Error, OSError):
        return False
    if sys.platform == "win32":
        lowered = [getattr(psutil, name) for name in _LOWERED_CLASSES]
        return nice in lowered and app_nice not in lowered
    return nice > app_nice


def background_siblings() -> list[psutil.Process]:
    """The pool's background engines beside this engine process: the app's other children
    that run at a lower priority than the app. [] when this process is one of them (it
    competes with them as equals) or is not an engine the app started."""
    me = psutil.Process()
    try:
        app = psutil.Process(os.getppid())
        if runs_lowered(me, app):
            return []
        siblings = app.children()
    except (psutil.Error, OSError):
        return []
    return [p for p in siblings if p.pid != me.pid and runs_lowered(p, app)]
