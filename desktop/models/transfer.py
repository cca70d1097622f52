"""One file from the Hub onto this disk: resumable, retried, verified.

huggingface_hub no longer resumes a partial download across runs, so this is Lantern's own:
the bytes already in the `.part` file are kept and the rest is asked for with an HTTP Range;
a dropped connection is retried with back-off from where it stopped; the finished file's
sha256 must be the one the Hub advertises (the LFS object id, also sent as X-Linked-Etag).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import get_session, hf_raise_for_status

from desktop.errors import DownloadFailed, LanternError
from desktop.models.hub import hub_errors, is_network_error

log = logging.getLogger(__name__)

BLOCK = 1024 * 1024
# Waits before each retry while no byte gets through; a transfer that moved bytes retries at
# once. About two minutes in all, then the download fails and can be resumed later.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
READ_TIMEOUT_S = 30.0


class TransferStopped(Exception):
    """The caller asked the transfer to stop (pause or cancel); the `.part` file is kept."""


@dataclass(frozen=True)
class RemoteFile:
    url: str
    headers: dict[str, str]
    size: int
    sha256: str | None  # from the repository listing; X-Linked-Etag is used when None
    repo: str  # for error messages


def transfer_file(
    source: RemoteFile,
    partial: Path,
    *,
    on_bytes: Callable[[int], None],
    stop: threading.Event,
    retry_delays: tuple[float, ...] = RETRY_DELAYS,
) -> None:
    """Fill `partial` with the file's bytes, resuming from what it already holds.

    `on_bytes(n)` is called with the bytes on disk so far. Returns once the file is complete
    and its sha256 checked; a damaged file is deleted and DownloadFailed says so.
    """
    partial.parent.mkdir(parents=True, exist_ok=True)
    with _Sha256Behind() as digest:
        _prefix_into(digest, partial, source.size, stop)
        _transfer(source, partial, digest, on_bytes, stop, retry_delays)


def _transfer(
    source: RemoteFile,
    partial: Path,
    digest: _Sha256Behind,
    on_bytes: Callable[[int], None],
    stop: threading.Event,
    retry_delays: tuple[float, ...],
) -> None:
    linked_sha = None
    failures = 0
    while (done := partial.stat().st_size) < source.size:
        try:
            linked_sha = _fetch_rest(source, partial, digest, on_bytes, stop) or linked_sha
            if partial.stat().st_size == done:
                raise _Retry("the server sent no bytes")
            failures = 0
        except _RestartFromZero:
            digest.restart()
            partial.write_bytes(b"")
        except Exception as exc:
            if not _worth_retrying(exc):
                raise
            failures = 0 if partial.stat().st_size > done else failures + 1
            if failures >= len(retry_delays):
                raise DownloadFailed(
                    f"The download of {partial.name.removesuffix('.part')} keeps failing "
                    f"({exc}). The {partial.stat().st_size:,} bytes already here are kept: "
                    "resume it when the connection is back."
                ) from exc
            delay = retry_delays[failures]
            log.info("Transfer interrupted (%s); retrying in %.1f s", exc, delay)
            if stop.wait(delay):
                raise TransferStopped from exc
    on_bytes(source.size)
    _verify(partial, digest, source.sha256 or linked_sha, source.size)


class _RestartFromZero(Exception):
    """The server ignored the Range (or answered another one): fetch the whole file again."""


class _Retry(Exception):
    """The server is busy or failing for now (429, 5xx) or sent nothing: worth another try."""


def _worth_retrying(exc: Exception) -> bool:
    """A dropped connection, a timeout, a busy server: not an answer such as 403 or 404."""
    if isinstance(exc, _Retry):
        return True
    return not isinstance(exc, LanternError) and is_network_error(exc)


def _fetch_rest(
    source: RemoteFile,
    partial: Path,
    digest: _Sha256Behind,
    on_bytes: Callable[[int], None],
    stop: threading.Event,
) -> str | None:
    """Append what the server sends after the bytes on disk; the X-Linked-Etag, if any."""
    done = partial.stat().st_size
    headers = dict(source.headers)
    if done:
        headers["Range"] = f"bytes={done}-"
    with get_session().stream("GET", source.url, headers=headers, timeout=READ_TIMEOUT_S) as reply:
        status = reply.status_code
        if status == 429 or status >= 500:
            raise _Retry(f"the server answered {status}")
        if status == 416:  # the Range starts past the file's end: what is here is not it
            raise _RestartFromZero
        if status >= 400:
            reply.read()
            with hub_errors(source.repo):
                hf_raise_for_status(reply)
        if done and (status != 206 or not _starts_at(reply, done)):
            raise _RestartFromZero
        linked_etag = _linked_etag(reply)
        with partial.open("ab") as out:
            for block in reply.iter_bytes():  # as it arrives: a drop loses nothing read
                if stop.is_set():
                    raise TransferStopped
                block = block[: source.size - done]  # never more than the file holds
                _write(out, block, partial)
                digest.update(block)
                done += len(block)
                on_bytes(done)
                if done >= source.size:
                    break
    return linked_etag


def _starts_at(reply: Any, offset: int) -> bool:
    """The 206's Content-Range begins where the bytes on disk end."""
    content_range = str(reply.headers.get("Content-Range", ""))
    return content_range.startswith(f"bytes {offset}-")


def _write(out: Any, block: bytes, partial: Path) -> None:
    try:
        out.write(block)
    except OSError as exc:  # a full disk, a removed drive: not worth retrying
        raise DownloadFailed(
            f"Cannot write {partial.name.removesuffix('.part')} to {partial.parent} "
            f"({exc.strerror or exc}). Free some disk space, then resume the download."
        ) from exc


def _linked_etag(reply: Any) -> str | None:
    """The sha256 the Hub sent with the redirect to its CDN (X-Linked-Etag)."""
    for response in [*reply.history, reply]:
        etag = response.headers.get("X-Linked-Etag")
        if etag:
            return str(etag).strip('"').removeprefix("W/").strip('"')
    return None


class _Sha256Behind:
    """sha256 computed on its own thread, a few blocks behind the network, so hashing does
    not slow the transfer (hashlib lets go of the GIL while it works on a block)."""

    def __init__(self) -> None:
        self._blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=256)
        self._digest = hashlib.sha256()
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)

    def __enter__(self) -> _Sha256Behind:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._blocks.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            block = self._blocks.get()
            if block is not None:
                self._digest.update(block)
            self._blocks.task_done()
            if block is None:
                return

    def update(self, block: bytes) -> None:
        self._blocks.put(block)

    def restart(self) -> None:
        self._blocks.join()
        self._digest = hashlib.sha256()

    def hexdigest(self) -> str:
        self._blocks.join()
        return self._digest.hexdigest()


def _prefix_into(digest: _Sha256Behind, partial: Path, size: int, stop: threading.Event) -> None:
    """Feed the bytes already on disk to the digest (a file longer than expected is emptied)."""
    if not partial.exists() or partial.stat().st_size > size:
        partial.write_bytes(b"")
        return
    with partial.open("rb") as fh:
        while block := fh.read(BLOCK):
            digest.update(block)
            if stop.is_set():
                raise TransferStopped


def _verify(partial: Path, digest: _Sha256Behind, expected_sha: str | None, size: int) -> None:
    name = partial.name.removesuffix(".part")
    actual_size = partial.stat().st_size
    if actual_size != size or (expected_sha and digest.hexdigest() != expected_sha.lower()):
        partial.unlink(missing_ok=True)
        raise DownloadFailed(
            f"{name} arrived damaged (its sha256 is not the one the Hub lists"
            f"{'' if actual_size == size else f'; {actual_size:,} of {size:,} bytes'}). "
            "The bad file was deleted; download it again."
        )
    if not expected_sha:
        log.warning("%s: the Hub gave no sha256, so only its size was checked", name)
