"""`lantern serve` for the server benchmarks, started as users run it: a subprocess of its own
(`lantern serve --port 0 --api-key-stdin`, tests/lantern_serve_process.py) on a temporary
LANTERN_HOME that holds one GGUF, with the engine's threads and context set in its settings.
The same home is open in this process too (`app`), for what is compared with the server.

A subprocess rather than the ServerHandle in this process: it is what users run, and a
server in the benchmark's own process would share its interpreter (and its GIL) with the
client that times it."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from lantern_serve_process import LanternServe
from llama_cpp_server import CONTEXT_LENGTH

if TYPE_CHECKING:
    import openai

    from desktop.services.app import Lantern

KEY = "lt-benchmark-key"
CLIENT_TIMEOUT_S = 600


@dataclass
class ServedHome:
    app: Lantern  # the served home, opened in this process too
    model_id: str
    server: LanternServe

    def client(self) -> openai.OpenAI:
        import openai

        return openai.OpenAI(
            base_url=self.server.url, api_key=KEY, max_retries=0, timeout=CLIENT_TIMEOUT_S
        )


@contextmanager
def lantern_served(
    model: Path, *, threads: int, gpu_layers: int | None = None
) -> Iterator[ServedHome]:
    """`model` installed in a temporary home and served; the context is llama_cpp.server's
    in tests/llama_cpp_server.py, so that the two serve the model alike. `gpu_layers` as in
    Settings (None: chosen from free GPU memory)."""
    with tempfile.TemporaryDirectory(prefix="lantern-serve-bench-") as home:
        os.environ["LANTERN_HOME"] = home  # this process's Lantern and the server's
        from desktop.paths import app_paths
        from desktop.services.app import Lantern
        from desktop.settings import Settings, save_settings

        paths = app_paths()
        settings = Settings(threads=threads, context_length=CONTEXT_LENGTH, gpu_layers=gpu_layers)
        save_settings(paths.settings_file, settings)
        app = Lantern(paths)
        try:
            installed = app.models.import_file(model)
            with LanternServe(KEY) as server:
                yield ServedHome(app, installed.id, server)
        finally:
            app.close()
