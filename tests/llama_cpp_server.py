"""llama-cpp-python's own OpenAI-compatible server (`python -m llama_cpp.server`) on
127.0.0.1, on a GGUF model, with an API key: a real server another project wrote, for the
remote-engine tests and the remote decode benchmark. Ready once its /v1/models answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

API_KEY = "lantern-test-key"
START_TIMEOUT_S = 120.0
CONTEXT_LENGTH = 4096


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaCppServer:
    def __init__(
        self, model: Path, log_file: Path, *, threads: int = 2, gpu_layers: int = 0
    ) -> None:
        self.model_path = model
        self.model = str(model)  # the id its /v1/models lists
        self.api_key = API_KEY
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_file = log_file
        self._command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--api_key",
            API_KEY,
            "--n_ctx",
            str(CONTEXT_LENGTH),
            "--n_threads",
            str(threads),
            "--n_gpu_layers",  # its default, 0, keeps the model off a GPU
            str(gpu_layers),
        ]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> LlamaCppServer:
        log = self._log_file.open("wb")
        self._process = subprocess.Popen(
            self._command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
        log.close()
        self._wait_until_it_answers()
        return self

    def _wait_until_it_answers(self) -> None:
        """Until /v1/models answers (the model is loaded by then), or the server died."""
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        headers = {"Authorization": f"Bearer {API_KEY}"}
        with httpx2.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                try:
                    if client.get(f"{self.url}/v1/models", headers=headers).status_code == 200:
                        return
                except httpx2.TransportError:
                    pass  # not listening yet
                try:  # the server's own state between two asks: ends at once if it exits
                    self._process.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    continue
                raise RuntimeError(
                    f"llama_cpp.server exited ({self._process.returncode}): "
                    f"{self._log_file.read_text(errors='replace')[-3000:]}"
                )
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {START_TIMEOUT_S:g} s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)
        self._process = None
