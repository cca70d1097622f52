from __future__ import annotations

import multiprocessing
import os
import sys

from desktop.cli import main

if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        # The install folder belongs to the package manager: Alembic's migrations are read as
        # source there, and their bytecode would be files that uninstalling leaves behind.
        sys.dont_write_bytecode = True
    if sys.stdout is None or sys.stderr is None:  # Windows' windowed executable has no console
        sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    # In the frozen app the engine process is this same executable, started by
    # multiprocessing; this runs the engine there instead of Lantern's command line.
    multiprocessing.freeze_support()
    sys.exit(main())
