"""The Hub file view refuses, before any download, a model file llama.cpp would refuse: the
reason in the fit line, in words, and no Download button. Real widgets offscreen, a real
Lantern on this test's home, a test Hub of its own on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gguf_bytes import gguf_header, small_llama, tensor_entry, write_file
from hub_server import LocalHub
from PySide6.QtCore import QThreadPool

from desktop.paths import app_paths
from desktop.services.app import Lantern
from desktop.ui.bridge import BackgroundTasks
from desktop.ui.models.repository_files import RepositoryFilesView

pytestmark = pytest.mark.gui

TIMEOUT_MS = 30_000
REPO = "hostile/Tiny-GGUF"


@pytest.fixture
def hostile_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalHub]:
    """A Hub of its own (the shared one's searches must not see these files)."""
    hub = LocalHub().start()
    layers = write_file(tmp_path / "layers.gguf", small_llama({"block_count": 10**9}))
    dims = write_file(
        tmp_path / "dims.gguf", gguf_header([], [tensor_entry("t", [1] * 5)]) + bytes(4096)
    )
    hub.add_repo(REPO, {"Tiny-Q4_0.gguf": layers, "Tiny-Q8_0.gguf": dims})
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    yield hub
    hub.stop()


@pytest.fixture
def files_view(qtbot, hostile_hub: LocalHub) -> Iterator[RepositoryFilesView]:
    lantern, pool = Lantern(), QThreadPool()
    tasks = BackgroundTasks(pool)
    view = RepositoryFilesView(lantern, tasks)
    qtbot.addWidget(view)
    yield view
    tasks.closed = True
    pool.waitForDone()
    lantern.close()


def refusal_shown(view: RepositoryFilesView) -> bool:
    return view.fit_line.is_error and not view.fit_line.message.startswith("Checking")


def test_a_file_llama_cpp_would_refuse_is_refused_before_any_download(
    qtbot, files_view: RepositoryFilesView, hostile_hub: LocalHub
) -> None:
    files_view.load(REPO, "Q4_0")
    qtbot.waitUntil(lambda: files_view.table.rowCount() == 2, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: refusal_shown(files_view), timeout=TIMEOUT_MS)
    message = files_view.fit_line.message
    assert "its header gives 'llama.block_count' as 1,000,000,000" in message
    assert "outside 1 to 512 (llama.cpp's LLAMA_MAX_LAYERS)" in message
    assert "Something went wrong" not in message
    assert not files_view.download_button.isEnabled()

    files_view.select_quant("Q8_0")
    qtbot.waitUntil(
        lambda: refusal_shown(files_view) and "dimensions" in files_view.fit_line.message,
        timeout=TIMEOUT_MS,
    )
    assert "has 5 dimensions; llama.cpp allows at most 4" in files_view.fit_line.message
    assert not files_view.download_button.isEnabled()
    # Only the headers were read, with ranged requests; nothing was downloaded or installed.
    for name in ("Tiny-Q4_0.gguf", "Tiny-Q8_0.gguf"):
        reads = hostile_hub.file_requests(name)
        assert reads and all(r.range and r.range.startswith("bytes=0-") for r in reads)
    assert not any(app_paths().models.glob("**/*.gguf"))
