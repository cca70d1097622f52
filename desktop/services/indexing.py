"""Indexing: the queued files of the libraries read, cut into passages, embedded and saved.

The queue is the database (`library_files` rows with status 'queued'), so an index run can
end anywhere, even by a kill -9, and the next run takes up where it stopped: a file's
passages, their keyword rows and their vectors are saved in one transaction, so a file is
either indexed whole or still queued, and never has its passages twice. A file's sha256
decides whether it is read again: a file touched but not changed costs one hash.

An `IndexRun` is a ServiceRun[IndexProgress, IndexOutcome] (services/runs.py) with
`pause()` and `resume()` besides `cancel()`. It embeds in the pool's background lane, so a
chat or a search never waits behind it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from desktop.engine.pool import EnginePool, ModelLease
from desktop.errors import LanternError
from desktop.models.embedders import Embedder
from desktop.services.files import read_file_at_most
from desktop.store.documents import DocumentStore, FileRecord, NewPassage
from desktop.tasks.documents import UnreadableDocument, read_document, size_limit, too_large
from desktop.tasks.passages import Passage, split_into_passages

log = logging.getLogger(__name__)

# all-MiniLM-L6-v2 was trained on texts of up to 256 word pieces and cuts longer ones; a
# passage of about 200 keeps room for its heading and the model's prefix, and a paragraph
# or two is what an answer cites. The overlap keeps a sentence cut at a passage's end whole
# at the next one's start.
PASSAGE_TOKENS = 200
OVERLAP_TOKENS = 40
HEADING_TOKENS = 32  # the most of a heading path embedded with its passage
# Passages embedded in one engine request: large enough that the round trip costs little,
# small enough that pause and cancel are answered within a fraction of a second.
EMBED_BATCH = 16

RunState = Literal["running", "paused", "ended"]


@dataclass(frozen=True)
class IndexProgress:
    files_done: int
    files_total: int  # done + still queued when this was sent
    passages: int  # saved by this run
    seconds_left: float | None  # None until there is a pace to go by
    current: str | None  # the file being indexed
    state: RunState
    failed: int = 0


@dataclass(frozen=True)
class IndexOutcome:
    status: Literal["complete", "cancelled", "failed"]
    files_done: int
    passages: int
    failed: int
    error: str | None = None


class IndexRun:
    """Indexing until the queue is empty, paused, or cancelled; see the module's docstring."""

    def __init__(
        self,
        store: DocumentStore,
        engines: EnginePool,
        embedder: Embedder,
        library_ids: Sequence[int] | None,
    ) -> None:
        self._store = store
        self._engines = engines
        self._embedder = embedder
        self._library_ids = library_ids
        self._cancelled = False
        self._paused = False
        self._wake = threading.Condition()
        self.outcome: IndexOutcome | None = None

    def cancel(self) -> None:
        with self._wake:
            self._cancelled = True
            self._wake.notify_all()

    def pause(self) -> None:
        with self._wake:
            self._paused = True

    def resume(self) -> None:
        with self._wake:
            self._paused = False
            self._wake.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    def __iter__(self) -> Iterator[IndexProgress]:
        pace = _Pace(self._store.queued_bytes(self._library_ids))
        done = passages = failed = 0
        try:
            with self._engines.embedder(self._embedder.model) as lease:
                while not self._cancelled:
                    if self._paused:
                        yield pace.progress(done, passages, failed, None, "paused")
                        self._wait_while_paused()
                        continue
                    record = self._store.claim_next(self._library_ids)
                    if record is None:
                        break
                    yield pace.progress(done, passages, failed, record.path, "running")
                    saved = self._index(record, lease)
                    if saved is None:
                        failed += 1
                    else:
                        passages += saved
                    done += 1
                    pace.file_done(record.size)
        except LanternError as exc:
            self.outcome = IndexOutcome("failed", done, passages, failed, str(exc))
            raise
        finally:
            # A file claimed but not finished (a cancel mid-file, a failure) goes back to the
            # queue: it is taken again by the next run.
            self._store.requeue_unfinished()
        status: Literal["complete", "cancelled"] = "cancelled" if self._cancelled else "complete"
        self.outcome = IndexOutcome(status, done, passages, failed)
        yield pace.progress(done, passages, failed, None, "ended")

    def _wait_while_paused(self) -> None:
        with self._wake:
            self._wake.wait_for(lambda: not self._paused or self._cancelled)

    def _index(self, record: FileRecord, lease: ModelLease) -> int | None:
        """The passages saved for the file; None when it could not be indexed (its error is
        kept with it for the user to see)."""
        path = Path(record.path)
        name = path.name
        try:
            data = read_file_at_most(
                path, size_limit(name), lambda size: UnreadableDocument(too_large(name, size))
            )
            stat = path.stat()
        except LanternError as exc:
            self._store.mark_failed(record.id, str(exc))
            return None
        except OSError as exc:
            self._store.mark_failed(record.id, f"Cannot read {name}: {exc.strerror or exc}.")
            return None
        sha256 = hashlib.sha256(data).hexdigest()
        if sha256 == record.sha256 and record.embedder == self._embedder.key:
            self._store.mark_unchanged(record.id, size=stat.st_size, mtime_ns=stat.st_mtime_ns)
            return 0
        try:
            document = read_document(data, name)
        except UnreadableDocument as exc:
            self._store.mark_failed(record.id, str(exc))
            return None
        pieces = split_into_passages(
            document,
            _token_counter(lease),
            max_tokens=PASSAGE_TOKENS,
            overlap_tokens=OVERLAP_TOKENS,
        )
        vectors = self._embedded(pieces, lease)
        if vectors is None:  # cancelled mid-file: it stays queued
            return 0
        self._store.save_passages(
            record.id,
            sha256=sha256,
            embedder_key=self._embedder.key,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            passages=[NewPassage(p.start, p.end, p.page, p.heading, p.text) for p in pieces],
            vectors=vectors,
        )
        return len(pieces)

    def _embedded(
        self, passages: Sequence[Passage], lease: ModelLease
    ) -> npt.NDArray[np.float32] | None:
        texts = [passage_text_to_embed(self._embedder.document_prefix, p) for p in passages]
        parts = []
        for first in range(0, len(texts), EMBED_BATCH):
            if self._cancelled:
                return None
            parts.append(lease.embed(texts[first : first + EMBED_BATCH]))
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(parts)


def passage_text_to_embed(prefix: str, passage: Passage) -> str:
    """What is embedded for a passage: its heading path gives it its context ("Install >
    Linux" makes "run the script" findable as an install step)."""
    heading = " ".join(passage.heading.split()[:HEADING_TOKENS])
    return f"{prefix}{heading}\n\n{passage.text}" if heading else f"{prefix}{passage.text}"


def _token_counter(lease: ModelLease) -> Callable[[Sequence[str]], list[int]]:
    def count(texts: Sequence[str]) -> list[int]:
        return [lease.count_tokens(text) for text in texts]

    return count


class _Pace:
    """Time left, from the bytes indexed so far against the bytes still queued."""

    def __init__(self, queued: tuple[int, int]) -> None:
        self._files_queued, self._bytes_queued = queued
        self._bytes_done = 0
        self._started = time.monotonic()

    def file_done(self, size: int) -> None:
        self._bytes_done += size

    def progress(
        self, done: int, passages: int, failed: int, current: str | None, state: RunState
    ) -> IndexProgress:
        seconds_left = None
        if self._bytes_done:
            rate = self._bytes_done / max(time.monotonic() - self._started, 1e-6)
            seconds_left = max(self._bytes_queued - self._bytes_done, 0) / rate
        total = max(self._files_queued, done)
        return IndexProgress(done, total, passages, seconds_left, current, state, failed)
