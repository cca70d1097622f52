"""How long the GUI thread stops answering while the Models page opens and lists what is
installed: the longest event-loop stall, measured by a 1 ms timer (a gap between two of its
ticks is time the loop spent elsewhere).

A temporary Lantern home gets N installed models (the given GGUF, hard-linked under N names)
with no cached headers, so each list has to read every header (the slowest case).
Phases: the main window opens and shows the chat page (ready when the model picker is filled);
then the Models page opens on Installed, until its table lists all N. The noise floor is the
same timer while the loop idles for a second.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/models_page_stall.py MODEL.gguf
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


class StallMeter:
    """The longest gap between ticks of a 1 ms timer, per phase."""

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setInterval(1)
        self._timer.timeout.connect(self._tick)
        self._last = time.perf_counter()
        self.longest = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    def start(self) -> None:
        self._last = time.perf_counter()
        self.longest = 0.0
        self._timer.start()

    def stop(self) -> float:
        self._timer.stop()
        self._tick()
        return self.longest


def run_until(app: QApplication, done: Callable[[], bool], timeout: float = 120) -> float:
    start = time.perf_counter()
    while not done():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the page never showed the installed models")
        app.processEvents()
        time.sleep(0.0005)  # the benchmark's own loop: let the timer and workers run
    return time.perf_counter() - start


def install_copies(model: Path, models_dir: Path, count: int) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        target = models_dir / f"{model.stem}-copy{i:03d}.gguf"
        try:
            os.link(model, target)
        except OSError:
            target.write_bytes(model.read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--models", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        os.environ["LANTERN_HOME"] = home
        install_copies(args.model.resolve(), Path(home) / "models", args.models)
        from desktop.services.app import Lantern
        from desktop.ui.app import gui_application
        from desktop.ui.main_window import MODELS_PAGE, MainWindow

        app = gui_application()
        meter = StallMeter()
        lantern = Lantern()

        meter.start()
        window = MainWindow(lantern)
        window.show()
        opened = run_until(app, lambda: window.model_picker.count() == args.models)
        open_stall = meter.stop()

        shutil.rmtree(lantern.paths.cache / "gguf-headers")  # the page reads every header again
        meter.start()
        window.show_page(MODELS_PAGE)
        page = window.models_page
        page.tabs.setCurrentWidget(page.installed)
        listed = run_until(app, lambda: page.installed.table.rowCount() == args.models)
        page_stall = meter.stop()

        meter.start()
        deadline = time.perf_counter() + 1.0
        run_until(app, lambda: time.perf_counter() > deadline)
        idle_stall = meter.stop()

        window.close()
        lantern.close()

    result = {
        "installed_models": args.models,
        "window_ready_s": round(opened, 3),
        "window_open_longest_stall_ms": round(open_stall * 1000, 1),
        "models_page_listed_s": round(listed, 3),
        "models_page_longest_stall_ms": round(page_stall * 1000, 1),
        "idle_longest_stall_ms": round(idle_stall * 1000, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{args.models} installed models, headers not cached. Window: ready in "
            f"{result['window_ready_s']} s, longest stall {result['window_open_longest_stall_ms']}"
            f" ms. Models page: installed list in {result['models_page_listed_s']} s, longest "
            f"stall {result['models_page_longest_stall_ms']} ms. Idle loop: "
            f"{result['idle_longest_stall_ms']} ms."
        )


if __name__ == "__main__":
    main()
