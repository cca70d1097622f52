"""The download queue as the GUI drives it: a worker thread, progress with speed and time
left, pause / resume / cancel, a queue that survives a restart, and the disk-space check."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import STARTER_REPO
from filelock import FileLock
from hub_server import Faults, LocalHub

from desktop.errors import DownloadBusy, NotEnoughDiskSpace
from desktop.services.app import Lantern
from desktop.services.downloads import DownloadProgress
from desktop.store.downloads import DownloadRecord

STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def wait_until(condition: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Watched:
    """Every change the queue announces, as a listener on the worker thread sees it."""

    def __init__(self, app: Lantern) -> None:
        self.records: list[DownloadRecord] = []
        self.progress: list[DownloadProgress] = []
        app.downloads.subscribe(self._seen)

    def _seen(self, record: DownloadRecord, progress: DownloadProgress | None) -> None:
        self.records.append(record)
        if progress is not None:
            self.progress.append(progress)

    def status(self, download_id: int) -> str | None:
        return next((r.status for r in reversed(self.records) if r.id == download_id), None)

    def done_bytes(self) -> int:
        return self.progress[-1].done_bytes if self.progress else 0


@pytest.fixture
def app(test_hub: LocalHub) -> Iterator[Lantern]:
    lantern = Lantern()
    yield lantern
    lantern.close()


def start_slow_download(
    app: Lantern, test_hub: LocalHub, *, until_bytes: int
) -> tuple[DownloadRecord, Watched]:
    """The starter model queued and on its way at 25 MB/s, `until_bytes` of it arrived."""
    test_hub.faults[STARTER_FILE] = Faults(bytes_per_second=25_000_000)
    watched = Watched(app)
    record = app.downloads.add(STARTER_REPO)
    assert record.status == "queued"
    app.downloads.start()
    wait_until(lambda: watched.done_bytes() > until_bytes)
    return record, watched


def _partial_size(home: Path) -> int:
    return sum(p.stat().st_size for p in (home / "models" / ".downloads").rglob("*.part"))


def test_progress_pause_resume_and_install(
    app: Lantern, test_hub: LocalHub, lantern_home: Path
) -> None:
    record, watched = start_slow_download(app, test_hub, until_bytes=20_000_000)
    assert record.total_bytes > 90_000_000

    app.downloads.pause(record.id)
    wait_until(lambda: record.id not in app.downloads.running())
    paused_at = _partial_size(lantern_home)
    assert 20_000_000 < paused_at < record.total_bytes
    assert app.downloads.get(record.id).status == "paused"
    requests_while_paused = len(test_hub.file_requests(STARTER_FILE))

    app.downloads.resume(record.id)
    wait_until(lambda: watched.status(record.id) == "done")
    done = app.downloads.get(record.id)
    assert done.model_id == f"{STARTER_REPO}/SmolLM2-135M-Instruct.Q4_1"
    assert [m.id for m in app.models.list()] == [done.model_id]
    resumed = test_hub.file_requests(STARTER_FILE)[requests_while_paused:]
    assert resumed[0].range == f"bytes={paused_at}-"

    speeds = [p.bytes_per_second for p in watched.progress if p.done_bytes < record.total_bytes]
    assert speeds and 5_000_000 < max(speeds) < 60_000_000, "speed near the server's 25 MB/s"
    assert any(p.seconds_left and 0 < p.seconds_left < 10 for p in watched.progress)


def test_the_queue_resumes_after_a_restart(
    app: Lantern, test_hub: LocalHub, lantern_home: Path
) -> None:
    record, _ = start_slow_download(app, test_hub, until_bytes=20_000_000)
    app.close()  # the user quits mid-download
    assert app.downloads.get(record.id).status == "downloading"
    left_at = _partial_size(lantern_home)

    test_hub.faults.clear()
    again = Lantern()
    try:
        restarted = Watched(again)
        again.downloads.start()
        wait_until(lambda: restarted.status(record.id) == "done")
    finally:
        again.close()
    last = test_hub.file_requests(STARTER_FILE)[-1]
    assert last.range == f"bytes={left_at}-" and last.bytes_sent == record.total_bytes - left_at


def test_cancel_deletes_the_bytes_and_keeps_the_entry(
    app: Lantern, test_hub: LocalHub, lantern_home: Path
) -> None:
    record, _ = start_slow_download(app, test_hub, until_bytes=10_000_000)
    app.downloads.cancel(record.id)
    wait_until(lambda: record.id not in app.downloads.running())
    assert _partial_size(lantern_home) == 0
    assert not list((lantern_home / "models").rglob("*.gguf"))
    assert app.downloads.get(record.id).status == "cancelled"
    app.downloads.forget(record.id)
    assert app.downloads.list() == []


def test_not_enough_disk_space_is_refused_before_any_byte_moves(
    app: Lantern, test_hub: LocalHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The disk is the boundary: report it nearly full.
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=150 * 1000**2))
    with pytest.raises(NotEnoughDiskSpace) as refused:
        app.downloads.add(STARTER_REPO)
    assert str(refused.value).startswith(
        "Not enough disk space: this download needs 98 MB more and the disk holding"
    )
    assert "has 150 MB free" in str(refused.value)
    assert app.downloads.list() == []
    assert test_hub.file_requests(STARTER_FILE) == []


def test_a_download_another_lantern_is_running_is_left_to_it(
    app: Lantern, test_hub: LocalHub, lantern_home: Path
) -> None:
    record = app.downloads.add(STARTER_REPO)
    (sha,) = [p.sha256 for p in record.parts]
    lock_path = lantern_home / "models" / ".downloads" / f"{sha[:16]}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    # Held as another process (a `lantern models pull`) holds it.
    with FileLock(str(lock_path)), pytest.raises(DownloadBusy, match="another Lantern"):
        app.downloads.run(record.id)
    assert app.downloads.get(record.id).status == "queued", "not marked failed"
    assert test_hub.file_requests(STARTER_FILE) == []


def test_a_download_paused_before_its_turn_does_not_start(app: Lantern, test_hub: LocalHub) -> None:
    record = app.downloads.add(STARTER_REPO)
    app.downloads.pause(record.id)
    assert app.downloads.run(record.id) is None
    assert app.downloads.get(record.id).status == "paused"
    assert test_hub.file_requests(STARTER_FILE) == []
