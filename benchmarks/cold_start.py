"""Start of the frozen app (dist/lantern, `make package`) to its first window, as a ratio of
the same start from the source install (.venv/bin/lantern). Issue 7's figure.

Each run starts `lantern` on an X display and times it until its main window is mapped and
visible (xdotool, asked every 20 ms, finds a visible window of that process). Cold runs drop
the page cache first (root on Linux), as after a reboot; warm runs start again at once.
Frozen and source runs alternate, on one home with the starter model installed, so the window
is the usual one.

    make package && xvfb-run -a .venv/bin/python benchmarks/cold_start.py
Needs Debian's xdotool (and xvfb for xvfb-run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FROZEN = ROOT / "dist" / "lantern" / "lantern"
SOURCE = ROOT / ".venv" / "bin" / "lantern"
WINDOW_TIMEOUT_S = 120
POLL_S = 0.02


def drop_page_cache() -> None:
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def first_window_s(program: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    app = subprocess.Popen([program], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    search = ["xdotool", "search", "--onlyvisible", "--pid", str(app.pid)]
    try:
        # Polled here: xdotool's own --sync looks only every half second.
        while subprocess.run(search, capture_output=True, check=False).returncode != 0:
            if time.perf_counter() - started > WINDOW_TIMEOUT_S or app.poll() is not None:
                ended = "" if app.returncode is None else f" (it exited with {app.returncode})"
                raise RuntimeError(f"{program} showed no window in {WINDOW_TIMEOUT_S} s{ended}")
            time.sleep(POLL_S)
        return time.perf_counter() - started
    finally:
        app.terminate()
        app.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="starts of each kind (default 5)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not FROZEN.is_file():
        sys.exit(f"no bundle at {FROZEN}: run `make package` first")
    if "DISPLAY" not in os.environ:
        sys.exit("no X display: run under xvfb-run -a")
    with tempfile.TemporaryDirectory(prefix="lantern-cold-start-") as home:
        env = {**os.environ, "LANTERN_HOME": home}
        env.pop("QT_QPA_PLATFORM", None)  # the real X window, not offscreen
        subprocess.run(
            [SOURCE, "models", "install-starter"], env=env, check=True, capture_output=True
        )
        times: dict[str, list[float]] = {}
        # Dropping the page cache needs root; without it only warm starts are measured.
        modes = ("cold", "warm") if os.geteuid() == 0 else ("warm",)
        if len(modes) == 1:
            print("not root: cold starts (page cache dropped) left out", file=sys.stderr)
        for mode in modes:
            for _ in range(args.runs):
                for name, program in (("frozen", FROZEN), ("source", SOURCE)):
                    if mode == "cold":
                        drop_page_cache()
                    times.setdefault(f"{name} {mode}", []).append(first_window_s(program, env))
    medians = {key: statistics.median(values) for key, values in times.items()}
    ratios = {mode: medians[f"frozen {mode}"] / medians[f"source {mode}"] for mode in modes}
    if args.json:
        print(json.dumps({"runs": times, "medians_s": medians, "frozen_over_source": ratios}))
        return 0
    for key, values in times.items():
        runs = " ".join(f"{v:.2f}" for v in values)
        print(f"{key:<12} median {medians[key]:.2f} s   runs {runs}")
    for mode, ratio in ratios.items():
        print(f"{mode} start to first window, frozen / source: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
