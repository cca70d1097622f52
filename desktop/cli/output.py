"""What every `lantern` command group shares: the app it works on, how it prints data and
progress, and Ctrl+C that stops a run with what it wrote saved."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from desktop.services.runs import ServiceRun

if TYPE_CHECKING:
    from desktop.engine.protocol import GenerationStats
    from desktop.models.installed import InstalledModel
    from desktop.services.app import Lantern

EventT = TypeVar("EventT")


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=json_default, ensure_ascii=False))


def write_out(text: str) -> None:
    """Streamed text, shown as it comes."""
    sys.stdout.write(text)
    sys.stdout.flush()


def write_nothing(text: str) -> None:
    """For --json: the text is in the JSON printed at the end."""


def progress(line: str) -> None:
    """A line about the work (not its result), on stderr, so that stdout stays the result."""
    print(line, file=sys.stderr, flush=True)


def generation_line(stats: GenerationStats, *, ending: str = "", with_seed: bool = False) -> str:
    """A generation's figures, as `lantern chat` and `lantern complete` end with them: how it
    ended (if said), tokens and speeds, and the seed (if asked)."""
    figures = [
        ending,
        f"{stats.generated_tokens} tokens",
        f"{stats.generation_tokens_per_s:.1f} tok/s",
        f"prompt {stats.prompt_tokens} tokens at {stats.prompt_tokens_per_s:.0f} tok/s",
        f"first token after {stats.time_to_first_token_s:.2f} s",
        f"seed {stats.seed}" if with_seed else "",
    ]
    return f"[{' · '.join(figure for figure in figures if figure)}]"


def size(n: float) -> str:
    """Bytes as people read them: 1.2 GB."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def installed_model_row(model: InstalledModel) -> dict[str, Any]:
    """An installed model as `models list --json` and `doctor --json` print it."""
    info = model.info
    return {
        "id": model.id,
        "name": info.name,
        "architecture": info.architecture,
        "quantization": info.quantization,
        "context_length": info.context_length,
        "size_bytes": model.size_bytes,
        "path": str(model.path),
    }


def secret_from_user(prompt: str) -> str:
    """A secret (a token, an API key), stripped: at a terminal from a hidden prompt, otherwise
    from standard input (`echo "$KEY" | lantern ...`), so that it stays out of the shell's
    history and the process list. "" when none is given (or what is given is not text)."""
    if sys.stdin is None:
        return ""
    if not sys.stdin.isatty():
        try:
            return sys.stdin.read().strip()
        except UnicodeDecodeError:
            return ""
    import getpass

    try:
        return getpass.getpass(prompt).strip()
    except EOFError:  # Ctrl+D at the prompt
        return ""


def open_lantern() -> Lantern:
    from desktop.services.app import Lantern

    return Lantern()


@contextmanager
def ctrl_c_cancels(cancel: Callable[[], None]) -> Iterator[threading.Event]:
    """While the block runs, Ctrl+C calls `cancel()` (the run then ends as stopped, having
    saved what it wrote) instead of raising KeyboardInterrupt wherever the main thread is: in
    a store write, or holding the engine client's lock that `cancel()` itself needs. It calls
    it from a thread of its own, since the handler runs inside the main thread. The event
    says whether Ctrl+C was pressed; a second Ctrl+C interrupts at once, as usual."""
    pressed = threading.Event()

    def on_ctrl_c(signum: int, frame: Any) -> None:
        if pressed.is_set():
            raise KeyboardInterrupt
        pressed.set()
        threading.Thread(target=cancel, name="ctrl-c-cancel", daemon=True).start()

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def follow_run(run: ServiceRun[EventT, object], on_event: Callable[[EventT], None]) -> bool:
    """Iterate a service run (`services/runs.py`) to its end, handing each event to
    `on_event`; Ctrl+C cancels it, and the run ends as stopped with what it wrote saved.
    True when Ctrl+C stopped it."""
    with ctrl_c_cancels(run.cancel) as stopped:
        for event in run:
            on_event(event)
    return stopped.is_set()
