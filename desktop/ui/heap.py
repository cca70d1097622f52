"""Python's full garbage collections kept short, so that one falling to a worker thread never
stalls the window.

A full collection walks every object the process holds and keeps the interpreter lock while
it does, on whichever thread's allocation set it off. Once the window is up that is about
140,000 objects (Qt's wrappers, SQLAlchemy, the pages) and 54 ms: indexing a folder, a pool
thread's collection held the window for 67 ms (benchmarks/docs_gui_stall.py). What is alive
when the window has shown its first reads lives as long as the app (modules, classes,
widgets), so it is frozen out of later collections (`gc.freeze`), which then walk only what
came after: about 6 ms.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_startup_heap() -> None:
    """Once per process, when the app has started: leave every object alive now out of later
    collections. No collection first: that would be the 54 ms stall itself, and start-up
    leaves about 20 objects of cyclic garbage, which freezing keeps for good."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.freeze()
