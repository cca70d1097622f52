"""The download queue: models fetched from the Hub one after another on a worker thread,
with progress, pause, resume and cancel; the queue is in SQLite and the bytes in `.part`
files, so both survive a restart or a crash. The CLI runs one download in the foreground
through `run()`, the same code the worker runs."""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from filelock import FileLock, Timeout

from desktop.errors import (
    DownloadBusy,
    DownloadFailed,
    LanternError,
    ModelNotFound,
    NotEnoughDiskSpace,
    PathOutsideFolder,
    UnsafeHubListing,
)
from desktop.models.installed import InstalledModel, ModelLibrary
from desktop.models.repo_files import (
    ModelFiles,
    hub_file_path,
    hub_repo_id,
    hub_sha256,
    pick_quant,
)
from desktop.paths import path_inside
from desktop.services.models import ModelService
from desktop.store.downloads import DownloadPart, DownloadRecord, DownloadRepository

log = logging.getLogger(__name__)

DEFAULT_QUANT = "Q4_K_M"  # what most people run: small, and close to the full model's quality
DISK_MARGIN_BYTES = 200 * 1000**2  # left free after a download, for the OS and the database
PROGRESS_INTERVAL_S = 0.2
SPEED_WINDOW_S = 5.0
BUSY_RETRY_S = 10.0
WAITING = ("queued", "downloading")  # what the worker picks up (downloading: cut by a crash)


@dataclass(frozen=True)
class DownloadProgress:
    download_id: int
    done_bytes: int
    total_bytes: int
    bytes_per_second: float
    seconds_left: float | None


DownloadListener = Callable[[DownloadRecord, DownloadProgress | None], None]


class DownloadQueue:
    def __init__(
        self,
        downloads: DownloadRepository,
        models: ModelService,
        library: ModelLibrary,
        *,
        retry_delays: tuple[float, ...] | None = None,
    ) -> None:
        self._downloads = downloads
        self._models = models
        self._library = library
        self._retry_delays = retry_delays
        self._listeners: list[DownloadListener] = []
        self._wake = threading.Condition()
        self._stops: dict[int, threading.Event] = {}
        self._closing = False
        self._busy_until: dict[int, float] = {}  # download id -> when to look at it again
        self._worker: threading.Thread | None = None

    # ---- what the GUI and the CLI ask for ----

    def choose_files(
        self, repo_or_catalog_id: str, *, quant: str | None = None, file: str | None = None
    ) -> tuple[str, str, ModelFiles]:
        """(repo, revision, model files) for a download: the file named, else the quant asked
        for, else the catalog's recommended one, else Q4_K_M, else the smallest."""
        repository = self._models.repository(repo_or_catalog_id)
        repo = repository.model.repo
        files = repository.files
        refused = f" {notice}" if (notice := repository.left_out_notice()) else ""
        if not files:
            if refused:
                raise UnsafeHubListing(
                    f"{repo} holds no GGUF model file Lantern can save.{refused}"
                )
            raise ModelNotFound(f"{repo} holds no GGUF model files.")
        chosen: ModelFiles | None
        if file:
            chosen = _model_named(repo, files, file, refused)
        elif quant:
            chosen = pick_quant(files, quant)
            if chosen is None:
                offered = ", ".join(sorted({m.quant for m in files}))
                raise ModelNotFound(
                    f"{repo} has no {quant.upper()} file. It offers: {offered}.{refused}"
                )
        else:
            entry = self._models.catalog_entry(repo_or_catalog_id)
            preferred = [entry.quant] if entry else []
            chosen = next(
                (m for q in [*preferred, DEFAULT_QUANT] if (m := pick_quant(files, q))), files[0]
            )
        return repo, repository.revision, chosen

    def add(
        self, repo_or_catalog_id: str, *, quant: str | None = None, file: str | None = None
    ) -> DownloadRecord:
        """Queue a model's download (or give back the unfinished one of the same model)."""
        return self.enqueue(*self.choose_files(repo_or_catalog_id, quant=quant, file=file))

    def enqueue(self, repo: str, revision: str, chosen: ModelFiles) -> DownloadRecord:
        record = self._downloads.unfinished(repo, chosen.name)
        if record is None:
            parts = [DownloadPart(p.path, p.size, p.sha256) for p in chosen.parts]
            self._check_disk_space(parts)
            record = self._downloads.add(repo, revision, chosen.name, chosen.quant, parts)
            log.info("Queued %s from %s (%d bytes)", chosen.name, repo, record.total_bytes)
        elif record.status in ("paused", "failed"):
            record = self._downloads.update(record.id, status="queued", error=None)
        self._announce(record)
        self._wake_worker()
        return record

    def installed(self, repo: str, chosen: ModelFiles) -> InstalledModel | None:
        """The installed model these files already are, if any."""
        target = self._library.download_target(repo, chosen.first.path)
        if not target.exists():
            return None
        return next((m for m in self._library.list() if m.path == target), None)

    def list(self) -> list[DownloadRecord]:
        return self._downloads.list()

    def get(self, download_id: int) -> DownloadRecord:
        record = self._downloads.get(download_id)
        if record is None:
            raise ModelNotFound(f"There is no download {download_id}.")
        return record

    def pause(self, download_id: int) -> DownloadRecord:
        record = self._set_status(download_id, "paused", only_from=("queued", "downloading"))
        self._stop(download_id)
        return record

    def resume(self, download_id: int) -> DownloadRecord:
        record = self._set_status(download_id, "queued", only_from=("paused", "failed"))
        self._wake_worker()
        return record

    def cancel(self, download_id: int) -> DownloadRecord:
        """Stop the download and delete its bytes; it stays in the list as cancelled."""
        record = self._set_status(
            download_id, "cancelled", only_from=(*WAITING, "paused", "failed")
        )
        if download_id in self._stops:
            self._stop(download_id)  # the transfer deletes its bytes as it stops
            return record
        try:
            with self._transfer_lock(record):
                self._delete_partials(record)
        except DownloadBusy:
            pass  # another process runs it: it sees the cancel within a second and cleans up
        except (UnsafeHubListing, PathOutsideFolder) as exc:
            # Stored by an older Lantern from a listing it did not check: no path built from
            # it is deleted; the download is still cancelled and can be removed from the list.
            log.warning("Cancelled download %d without deleting its files: %s", download_id, exc)
        return record

    def forget(self, download_id: int) -> None:
        """Take a finished, cancelled or failed download off the list."""
        record = self.get(download_id)
        if record.status in WAITING or download_id in self._stops:
            raise DownloadFailed(
                "The download is still stopping or running: pause or cancel it, then remove it."
            )
        if record.status in ("paused", "failed"):
            self.cancel(download_id)
        self._downloads.delete(download_id)

    def running(self) -> set[int]:
        """The downloads whose bytes are moving now (in this process)."""
        return set(self._stops)

    def bytes_on_disk(self, record: DownloadRecord) -> int:
        return sum(_bytes_on_disk(_partial(self._library, part)) for part in record.parts)

    def subscribe(self, listener: DownloadListener) -> None:
        """`listener(record, progress)` on every change, called on the worker's thread. A
        status change comes without progress; progress reports carry the record as the
        transfer began, so take the status from the reports without progress."""
        self._listeners.append(listener)

    # ---- the transfer ----

    def run(
        self,
        download_id: int,
        on_progress: Callable[[DownloadProgress], None] | None = None,
        stop: threading.Event | None = None,
    ) -> InstalledModel | None:
        """Download every part, verify it, install the model. None when stopped (paused or
        cancelled); a LanternError, also recorded on the download, when it fails."""
        stop = stop or threading.Event()
        self._stops[download_id] = stop
        record = self.get(download_id)
        try:
            _check_record(record)
            with self._transfer_lock(record):
                claimed = None if self._closing else self._downloads.claim(download_id)
                if claimed is None:
                    return None  # paused, cancelled or removed before it began
                record = claimed
                self._announce(record)
                self._library.free_download_targets(record.repo, _paths(record))
                self._check_disk_space(record.parts)
                self._fetch_parts(record, stop, on_progress)
                model = None if stop.is_set() else self._install(record)
            if model is not None or self.get(download_id).status == "cancelled":
                self._delete_partials(record)
        except DownloadBusy:
            raise  # the other process is doing it: nothing failed
        except LanternError as exc:
            self._record_failure(download_id, str(exc))
            raise
        except OSError as exc:  # the models folder vanished, a file went missing...
            message = f"The download of {record.name} failed: {exc.strerror or exc}."
            self._record_failure(download_id, message)
            raise DownloadFailed(message) from exc
        except KeyboardInterrupt:
            self._set_status(download_id, "paused", only_from=WAITING)
            raise
        finally:
            self._stops.pop(download_id, None)  # last: `running()` means the files are settled
        return model

    def _fetch_parts(
        self,
        record: DownloadRecord,
        stop: threading.Event,
        on_progress: Callable[[DownloadProgress], None] | None,
    ) -> None:
        from desktop.models.transfer import RemoteFile, TransferStopped, transfer_file

        meter = _Meter(record.id, record.total_bytes)
        saved_at = 0.0
        finished_parts = 0
        for part in record.parts:

            def on_bytes(done: int, offset: int = finished_parts) -> None:
                nonlocal saved_at
                progress = meter.update(offset + done)
                if progress is None:
                    return
                if on_progress:
                    on_progress(progress)
                if time.monotonic() - saved_at > 1.0:
                    saved_at = time.monotonic()
                    now = self._downloads.update(record.id, done_bytes=progress.done_bytes)
                    if now.status not in WAITING:
                        stop.set()  # paused or cancelled by another Lantern (window or CLI)
                    self._announce(now, progress)
                else:
                    self._announce(record, progress)

            hub = self._models.hub
            source = RemoteFile(
                hub.file_url(record.repo, record.revision, part.path),
                hub.request_headers(),
                part.size,
                part.sha256,
                record.repo,
            )
            delays = {"retry_delays": self._retry_delays} if self._retry_delays else {}
            try:
                transfer_file(
                    source, _partial(self._library, part), on_bytes=on_bytes, stop=stop, **delays
                )
            except TransferStopped:
                return
            finished_parts += part.size

    def _install(self, record: DownloadRecord) -> InstalledModel:
        partials = [_partial(self._library, part) for part in record.parts]
        model = self._library.install_download(partials, record.repo, _paths(record))
        done = self._downloads.update(
            record.id, status="done", done_bytes=record.total_bytes, model_id=model.id
        )
        self._announce(done)
        log.info("Downloaded and installed %s", model.id)
        return model

    # ---- the worker thread (the GUI's queue) ----

    def start(self) -> None:
        """Start working through the queue, beginning with what a restart or crash cut short."""
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="downloads", daemon=True)
            self._worker.start()

    def close(self) -> None:
        """Stop the worker; a running download stays queued and resumes at the next start."""
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        for stop in list(self._stops.values()):
            stop.set()
        if self._worker is not None:
            self._worker.join(timeout=10)

    def _work(self) -> None:
        while True:
            with self._wake:
                record = self._next_waiting()
                while record is None and not self._closing:
                    # Downloads another process runs are looked at again after a while.
                    self._wake.wait(BUSY_RETRY_S if self._busy_until else None)
                    record = self._next_waiting()
                if self._closing:
                    return
            assert record is not None
            try:
                self.run(record.id)
            except DownloadBusy:
                self._busy_until[record.id] = time.monotonic() + BUSY_RETRY_S
            except LanternError as exc:
                log.info("Download %d failed: %s", record.id, exc)
            except Exception:
                log.exception("Download %d failed unexpectedly", record.id)
                self._record_failure(record.id, "The download failed unexpectedly; see the log.")

    def _next_waiting(self) -> DownloadRecord | None:
        """The oldest download waiting its turn, leaving out those another process runs."""
        now = time.monotonic()
        self._busy_until = {i: t for i, t in self._busy_until.items() if t > now}
        waiting = [
            r
            for r in self._downloads.list()
            if r.status in WAITING and r.id not in self._busy_until
        ]
        return min(waiting, key=lambda r: r.id) if waiting else None

    def _wake_worker(self) -> None:
        with self._wake:
            self._wake.notify_all()

    # ---- helpers ----

    def _check_disk_space(self, parts: Sequence[DownloadPart]) -> None:
        needed = sum(p.size - _bytes_on_disk(_partial(self._library, p)) for p in parts)
        folder = self._library.models_dir
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
        if needed + DISK_MARGIN_BYTES > free:
            raise NotEnoughDiskSpace(
                f"Not enough disk space: this download needs {_gb(needed)} more and the disk "
                f"holding {folder} has {_gb(free)} free (Lantern keeps {_gb(DISK_MARGIN_BYTES)} "
                "spare). Free some space or choose a smaller quantization."
            )

    def _delete_partials(self, record: DownloadRecord) -> None:
        downloads = _downloads_dir(self._library)
        for part in record.parts:
            key = _download_key(part)
            shutil.rmtree(path_inside(downloads, key), ignore_errors=True)
            path_inside(downloads, key + ".lock").unlink(missing_ok=True)

    def _transfer_lock(self, record: DownloadRecord) -> FileLock:
        key = _download_key(record.parts[0])
        lock = FileLock(str(path_inside(_downloads_dir(self._library), key + ".lock")))
        try:
            return lock.acquire(timeout=0)  # type: ignore[return-value]
        except Timeout as exc:
            raise DownloadBusy(
                f"{record.name} is being downloaded by another Lantern window or command."
            ) from exc

    def _set_status(
        self, download_id: int, status: str, *, only_from: tuple[str, ...]
    ) -> DownloadRecord:
        record = self.get(download_id)
        if record.status not in only_from:
            raise DownloadFailed(f"The download of {record.name} is {record.status}.")
        record = self._downloads.update(download_id, status=status)
        self._announce(record)
        return record

    def _record_failure(self, download_id: int, message: str) -> None:
        try:
            self._announce(self._downloads.update(download_id, status="failed", error=message))
        except LookupError:
            log.info("Download %d was removed from the list as it failed", download_id)

    def _stop(self, download_id: int) -> None:
        stop = self._stops.get(download_id)
        if stop is not None:
            stop.set()

    def _announce(self, record: DownloadRecord, progress: DownloadProgress | None = None) -> None:
        for listener in list(self._listeners):
            try:
                listener(record, progress)
            except Exception:  # a broken view must not break the download
                log.exception("Download listener failed")


class _Meter:
    """Speed over the last few seconds and the time left; None between reports."""

    def __init__(self, download_id: int, total: int) -> None:
        self._id = download_id
        self._total = total
        self._samples: deque[tuple[float, int]] = deque()
        self._reported_at = 0.0

    def update(self, done: int) -> DownloadProgress | None:
        now = time.monotonic()
        self._samples.append((now, done))
        while now - self._samples[0][0] > SPEED_WINDOW_S:
            self._samples.popleft()
        if now - self._reported_at < PROGRESS_INTERVAL_S and done < self._total:
            return None
        self._reported_at = now
        start_time, start_done = self._samples[0]
        elapsed = now - start_time
        speed = (done - start_done) / elapsed if elapsed > 0 else 0.0
        left = (self._total - done) / speed if speed > 0 else None
        return DownloadProgress(self._id, done, self._total, speed, left)


def _partial(library: ModelLibrary, part: DownloadPart) -> Path:
    """Where a part's bytes gather while downloading: named by content, so a new download of
    the same file (after a restart, or from the CLI) continues from them."""
    name = PurePosixPath(hub_file_path(part.path)).name + ".part"
    return path_inside(_downloads_dir(library), _download_key(part), name)


def _downloads_dir(library: ModelLibrary) -> Path:
    return library.models_dir / ".downloads"


def _download_key(part: DownloadPart) -> str:
    """The name of a part's folder in `.downloads`: its sha256 (checked: hex, whatever a
    listing or an older Lantern's record says), or one made from its path."""
    sha256 = hub_sha256(part.sha256) or hashlib.sha256(part.path.encode()).hexdigest()
    return sha256[:16]


def _check_record(record: DownloadRecord) -> None:
    """A stored download's repository, paths and hashes, checked as a fresh listing's are:
    one stored by an older Lantern is refused (UnsafeHubListing) before a byte moves."""
    hub_repo_id(record.repo)
    for part in record.parts:
        hub_file_path(part.path)
        hub_sha256(part.sha256)


def _bytes_on_disk(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _paths(record: DownloadRecord) -> list[str]:
    """The download's files, by their paths in the repository."""
    return [part.path for part in record.parts]


def _model_named(repo: str, files: list[ModelFiles], file: str, refused: str) -> ModelFiles:
    """The model `file` names: its name or a part's path; else a part's file name if only
    one has it (a file at the top of the repository is named by its path, as it should)."""
    matches = [m for m in files if file in _paths_of(m)] or [
        m for m in files if file in {PurePosixPath(p.path).name for p in m.parts}
    ]
    if len(matches) > 1:
        paths = ", ".join(m.name for m in matches)
        raise ModelNotFound(
            f"'{file}' names several models in {repo}: {paths}. Give the one you want with "
            f"its folder, e.g. '{matches[0].name}'."
        )
    if not matches:
        names = ", ".join(m.name for m in files)
        raise ModelNotFound(f"{repo} has no file called '{file}'. Its models: {names}.{refused}")
    return matches[0]


def _paths_of(model: ModelFiles) -> set[str]:
    return {model.name} | {p.path for p in model.parts}


def _gb(n: int) -> str:
    return f"{n / 1000**3:.1f} GB" if n >= 1000**3 else f"{n / 1000**2:.0f} MB"
