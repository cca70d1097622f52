"""`lantern --self-test [GGUF]`: check an installed Lantern without a screen.

It runs what a first start runs, in a temporary Lantern home that is removed afterwards (in
the user's cache folder, so that a model there is hard-linked rather than copied): the
database is created and migrated, a chat turn is generated in the engine process and stored,
the conversation is read back through a second connection, and the main window is built on
Qt's offscreen platform. Each step prints one line; the first failure ends the run, exit 1.
The model is the given GGUF, or the starter model (from the starter cache, fetched if absent).
The engine's log goes to the user's log folder (self-test/engine.log), where a failure's
details stay. A run that has not ended after TIMEOUT_S fails.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from desktop import APP_NAME, __version__
from desktop.errors import LanternError
from desktop.models.starter import fetch_starter_model, starter_cache
from desktop.paths import AppPaths, app_paths, home_paths

log = logging.getLogger(__name__)

PROMPT = "Say hello in five words."
ANSWER_TOKENS = 8
TIMEOUT_S = 600  # a model load or an answer that hangs fails the run instead of holding it


class SelfTestFailed(Exception):
    pass


class CheckFailed(Exception):
    """A check that did not hold, said in plain words."""


def run_self_test(model: Path | None) -> int:
    # Before Qt loads: the window step must work where there is no screen.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    watchdog = threading.Timer(TIMEOUT_S, _give_up)
    watchdog.daemon = True
    watchdog.start()
    where = "frozen bundle" if getattr(sys, "frozen", False) else "Python package"
    print(f"{APP_NAME} {__version__} self-test ({where} at {_install_root()})", flush=True)
    started = time.perf_counter()
    try:
        gguf = _step("model", lambda: _model_file(model))
        with _temporary_home() as paths:
            conversation_id = _step("engine", lambda: _chat_turn(paths, gguf))
            _step("store", lambda: _read_back(paths, conversation_id))
            _step("window", lambda: _main_window(paths))
    except SelfTestFailed:
        print("self-test FAILED", flush=True)
        return 1
    finally:
        watchdog.cancel()
    print(f"self-test passed in {time.perf_counter() - started:.1f} s", flush=True)
    return 0


def _step(name: str, check: Callable[[], tuple[Any, str]]) -> Any:
    started = time.perf_counter()
    try:
        result, detail = check()
    except Exception as exc:  # a self-test reports whatever went wrong, as one line
        if isinstance(exc, LanternError):
            message = exc.message
        elif isinstance(exc, CheckFailed):
            message = str(exc)
        else:
            log.exception("Self-test step %s failed", name)
            message = f"{type(exc).__name__}: {exc} (details in the log)"
        print(f"FAILED {name:<7} {_ascii(message)}", flush=True)
        raise SelfTestFailed from exc
    print(f"ok     {name:<7} {_ascii(detail)} ({time.perf_counter() - started:.1f} s)", flush=True)
    return result


def _model_file(model: Path | None) -> tuple[Path, str]:
    if model is not None:
        if not model.is_file():
            raise CheckFailed(f"no file at {model}")
        return model, f"{model.name}, {model.stat().st_size / 1e6:.0f} MB"
    # The starter cache of `lantern models install-starter`, in the user's own folders.
    path = fetch_starter_model(starter_cache(app_paths().cache))
    return path, f"starter model {path.name}, checksum verified"


@contextmanager
def _temporary_home() -> Iterator[AppPaths]:
    user = app_paths()
    with tempfile.TemporaryDirectory(
        prefix="lantern-self-test-", dir=user.cache, ignore_cleanup_errors=True
    ) as folder:
        yield replace(home_paths(Path(folder)), logs=user.logs / "self-test").ensure()


def _give_up() -> None:
    print(f"FAILED timeout no result after {TIMEOUT_S} s", flush=True)
    print("self-test FAILED", flush=True)
    os._exit(1)  # the stuck step holds the main thread; the engine ends with its pipe


def _chat_turn(paths: AppPaths, gguf: Path) -> tuple[int, str]:
    from desktop.services.app import Lantern

    app = Lantern(paths)
    try:
        installed = app.models.import_file(gguf)
        turn = app.chat.send(
            PROMPT, model_id=installed.id, max_tokens=ANSWER_TOKENS, temperature=0.0
        )
        for _piece in turn:
            pass
        outcome = turn.outcome
        if outcome is None:
            raise CheckFailed("the answer never ended")
        if outcome.status != "complete" or outcome.stats is None:
            raise CheckFailed(outcome.error or f"the answer ended {outcome.status}")
        stats, loaded = outcome.stats, outcome.model
        offload = f", {loaded.gpu_layers} of {loaded.layers} layers on the GPU" if loaded else ""
        detail = (
            f"{stats.generated_tokens} tokens at {stats.generation_tokens_per_s:.0f} tok/s in "
            f"the engine process{offload}: {outcome.answer.content.strip()[:60]!r}"
        )
        return turn.conversation.id, detail
    finally:
        app.close()


def _read_back(paths: AppPaths, conversation_id: int) -> tuple[None, str]:
    """The stored turn, read through a new connection to the database file."""
    from desktop.services.app import Lantern

    app = Lantern(paths)
    try:
        exported = app.history.export(conversation_id, "md")
        if PROMPT not in exported:
            raise CheckFailed("the stored conversation lacks the message that was sent")
        database = app.paths.database
        return None, f"{database.name} in {database.parent.parent}: the conversation read back"
    finally:
        app.close()


def _main_window(paths: AppPaths) -> tuple[None, str]:
    from desktop.services.app import Lantern
    from desktop.ui.app import gui_application
    from desktop.ui.main_window import MainWindow

    qt_app = gui_application()
    app = Lantern(paths)
    window = None
    try:
        window = MainWindow(app)
        window.show()
        qt_app.processEvents()
        if not window.isVisible():
            raise CheckFailed("the main window did not show")
        platform = qt_app.platformName()
        return None, f"{window.windowTitle()!r} shown on the {platform} platform"
    finally:
        if window is not None:
            window.shutdown()
            window.close()
        app.close()


def _install_root() -> str:
    if getattr(sys, "frozen", False):
        return str(Path(sys.executable).resolve().parent)
    return str(Path(__file__).resolve().parents[1])  # the desktop package


def _ascii(text: str) -> str:
    """Consoles that cannot print every character (Windows' code pages) still get the line."""
    return text.encode("ascii", "backslashreplace").decode("ascii")
