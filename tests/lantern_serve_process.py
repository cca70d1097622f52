"""`lantern serve` as users run it: a subprocess of its own (`python -m desktop serve`), on
the LANTERN_HOME of the environment, for the CLI tests and the server benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

ADDRESS_LINE = "Lantern's OpenAI-compatible API: "
KEY_LINE = "API key: "  # the keyring's key, printed after the address
STOP_TIMEOUT_S = 120


class ServeEnded(RuntimeError):
    """It ended before it said where it listens."""


def lantern_serve(*args: str, key: str = "") -> subprocess.Popen[str]:
    """`lantern serve ARGS` in a session of its own (no terminal to ask for a key), `key` on
    its standard input."""
    server = subprocess.Popen(
        [sys.executable, "-m", "desktop", "serve", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
        start_new_session=True,
    )
    assert server.stdin is not None
    server.stdin.write(key)
    server.stdin.close()
    return server


def lines_until_address(server: subprocess.Popen[str]) -> Iterator[str]:
    """Its output, line by line, up to the address line; ServeEnded if it ends first."""
    assert server.stdout is not None
    for line in server.stdout:
        yield line
        if line.startswith(ADDRESS_LINE):
            return
    assert server.stderr is not None
    raise ServeEnded(f"lantern serve ended (exit {server.wait()}): {server.stderr.read()}")


class LanternServe:
    """`lantern serve --port 0`: `start()` returns once it says where it listens (`url`,
    ending in /v1). Its key is `key`, given on standard input (--api-key-stdin), or without
    one the keyring's, as it prints it. `stop()` is Ctrl+C. What it prints meanwhile (a line
    per request) is read as it comes, so that a full pipe never holds it up."""

    def __init__(self, key: str | None = None) -> None:
        self.key = key or ""
        self.url = ""
        self.printed: list[str] = []
        self._given_key = key is not None
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> LanternServe:
        if self._given_key:
            process = lantern_serve("--port", "0", "--api-key-stdin", key=f"{self.key}\n")
        else:
            process = lantern_serve("--port", "0")
        self._process = process
        *_, address = lines_until_address(process)
        self.url = address.removeprefix(ADDRESS_LINE).strip()
        if not self._given_key:
            assert process.stdout is not None
            self.key = process.stdout.readline().removeprefix(KEY_LINE).strip()
        self._reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._reader.start()
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self.printed.extend(process.stdout)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._reader is not None:
            self._reader.join()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> LanternServe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
