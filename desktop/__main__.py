from __future__ import annotations

import multiprocessing
import sys

from desktop.cli import main

if __name__ == "__main__":
    # In the frozen app the engine process is this same executable, started by
    # multiprocessing; this runs the engine there instead of Lantern's command line.
    multiprocessing.freeze_support()
    sys.exit(main())
