"""Documents: libraries of the user's files, indexed so that a question finds its passages.

A library is a name and its sources (folders, watched, and single files). `add()` records
the sources and queues what they hold; `index()` returns the run that embeds the queue
(services/indexing.py); `scan()` notices files added, changed or deleted since; `search()`
finds passages by meaning and by words at once (hybrid retrieval, store/documents.py);
`retrieve()` is the search a question in a chat makes, follow-ups included. The GUI, the
CLI and the server all use this one service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from desktop.engine.pool import EnginePool
from desktop.errors import LanternError, LibraryNotFound
from desktop.models.embedders import Embedder
from desktop.services.files import read_document_file
from desktop.services.indexing import IndexRun
from desktop.services.library_scan import source_contents
from desktop.services.library_watcher import LibraryWatcher
from desktop.services.models import ModelService
from desktop.store.documents import (
    SEARCH_MODES,
    DocumentStore,
    FileRecord,
    FoundPassage,
    LibraryCounts,
    LibraryRecord,
    SourceRecord,
    fused_scores,
)

log = logging.getLogger(__name__)

DEFAULT_LIBRARY = "My documents"


@dataclass(frozen=True)
class LibraryOverview:
    name: str
    sources: tuple[SourceRecord, ...]
    counts: LibraryCounts


@dataclass(frozen=True)
class ScanReport:
    queued: int  # new or changed files, waiting to be indexed
    removed: int  # files gone from disk, and their passages
    refused: tuple[str, ...]  # what could not be taken, and why

    @property
    def changed(self) -> bool:
        return bool(self.queued or self.removed)


class DocumentService:
    def __init__(self, store: DocumentStore, models: ModelService, engines: EnginePool) -> None:
        self._store = store
        self._models = models
        self._engines = engines
        # A file left half-indexed by a run that was killed is indexed again from the start.
        self._store.requeue_unfinished()

    # ---- libraries ----

    def libraries(self) -> list[LibraryOverview]:
        return [
            LibraryOverview(
                record.name, tuple(self._store.sources(record.id)), self._store.counts(record.id)
            )
            for record in self._store.libraries()
        ]

    def files(self, library: str) -> list[FileRecord]:
        return self._store.files(self._store.library(library).id)

    def failed_files(self, library: str | None = None) -> list[FileRecord]:
        """The files that could not be indexed (of `library`, or of every one), with why."""
        records = self._store.libraries() if library is None else [self._store.library(library)]
        return [
            file
            for record in records
            for file in self._store.files(record.id)
            if file.status == "failed"
        ]

    def source_text(self, path: str) -> str:
        """The text of a library's file as the reader gives it now: a passage's offsets index
        into it while the file is unchanged. Only a file of a library is read."""
        if not any(
            file.path == path
            for record in self._store.libraries()
            for file in self._store.files(record.id)
        ):
            raise LanternError(f"{path} is in no library any more.")
        return read_document_file(Path(path)).text

    def add(self, paths: Sequence[Path], library: str = DEFAULT_LIBRARY) -> ScanReport:
        """Record `paths` (folders and files) in `library`, made if new, and queue what they
        hold. Nothing is recorded when one of the paths cannot be taken."""
        for path in paths:
            if not path.exists():
                raise LanternError(f"{path} does not exist; check the path.")
            if not (path.is_dir() or path.is_file()):
                raise LanternError(f"{path} is not a file or a folder.")
        record = self._library_made(library)
        sources = [
            self._store.add_source(record.id, str(path.resolve()), is_folder=path.is_dir())
            for path in paths
        ]
        return self._scanned(sources)

    def remove(self, paths: Sequence[Path], library: str) -> int:
        """Take `paths` (sources as added) out of `library`, with their passages; how many
        sources were removed. LanternError when one is not in the library."""
        record = self._store.library(library)
        by_path = {source.path: source for source in self._store.sources(record.id)}
        wanted = [str(path.resolve()) for path in paths]
        unknown = [path for path in wanted if path not in by_path]
        if unknown:
            raise LanternError(
                f"{unknown[0]} is not in the library {library!r}; `lantern docs list` shows "
                "what is."
            )
        for path in wanted:
            self._store.remove_source(by_path[path].id)
        return len(wanted)

    def remove_library(self, library: str) -> None:
        self._store.remove_library(self._store.library(library).id)

    def scan(self, library: str | None = None) -> ScanReport:
        """Notice files added, changed or deleted under the sources since the last look (of
        `library`, or of every library)."""
        library_id = None if library is None else self._store.library(library).id
        return self._scanned(self._store.sources(library_id))

    def create_library(self, name: str) -> LibraryRecord:
        """An empty library called `name` (or the one of that name already there)."""
        return self._library_made(name)

    def _library_made(self, name: str) -> LibraryRecord:
        name = " ".join(name.split())
        if not name:
            raise LanternError("A library needs a name.")
        try:
            return self._store.library(name)
        except LibraryNotFound:
            return self._store.create_library(name)

    def _scanned(self, sources: Sequence[SourceRecord]) -> ScanReport:
        queued = removed = 0
        refused: list[str] = []
        for source in sources:
            contents = source_contents(source.path, is_folder=source.is_folder)
            refused.extend(contents.refused)
            if contents.missing:
                refused.append(f"{source.path} is gone; remove it from the library.")
            known = {
                record.path: record
                for record in self._store.files(source.library_id)
                if record.source_id == source.id
            }
            on_disk = {found.path for found in contents.files}
            for found in contents.files:
                before = known.get(found.path)
                if before is not None and (before.size, before.mtime_ns) == (
                    found.size,
                    found.mtime_ns,
                ):
                    continue
                self._store.note_file(source.id, found.path, found.size, found.mtime_ns)
                queued += 1
            gone = [record.id for path, record in known.items() if path not in on_disk]
            if gone:
                self._store.remove_files(gone)
                removed += len(gone)
        return ScanReport(queued, removed, tuple(refused))

    def watch(self, on_change: Callable[[], None]) -> LibraryWatcher:
        """A watcher over every folder source: `on_change()` (on its thread) after files
        change there; scan() then says what changed. Make a new one when sources change."""
        folders = [source.path for source in self._store.sources() if source.is_folder]
        return LibraryWatcher(folders, on_change)

    # ---- indexing ----

    def embedder(self) -> Embedder:
        return self._models.embedder()

    def index(self, library: str | None = None) -> IndexRun:
        """The run that indexes the queue (of `library`, or of every library). Files indexed
        with another embedding model than the one chosen now are queued again first."""
        embedder = self.embedder()
        self._store.requeue_other_embedders(embedder.key)
        library_ids = None if library is None else [self._store.library(library).id]
        return IndexRun(self._store, self._engines, embedder, library_ids)

    # ---- searching ----

    def search(
        self,
        query: str,
        *,
        libraries: Sequence[str] | None = None,
        limit: int = 5,
        mode: str = "hybrid",
    ) -> list[FoundPassage]:
        """The passages that answer `query` best, best first. `mode`: "hybrid" (meaning and
        words), "vector" (meaning only) or "keyword" (words only)."""
        if mode not in SEARCH_MODES:
            raise LanternError(
                f"Unknown search mode {mode!r}; use one of {', '.join(SEARCH_MODES)}."
            )
        if not query.strip():
            return []
        embedder = self.embedder()
        library_ids = self._library_ids(libraries)
        vector = None if mode == "keyword" else self._query_vector(embedder, query)
        return self._store.search(
            query,
            vector,
            embedder_key=embedder.key,
            library_ids=library_ids,
            limit=limit,
            mode=mode,
        )

    def retrieve(
        self,
        question: str,
        *,
        earlier_questions: Sequence[str],
        libraries: Sequence[str],
        limit: int,
    ) -> list[FoundPassage]:
        """The passages for a question asked in a conversation. A follow-up ("and on
        Windows?") says little alone: it is searched alone and together with the question
        before it, and the two lists fused, so that it stays on the documents the
        conversation is about without being held to them when the topic changes."""
        alone = self.search(question, libraries=libraries, limit=limit * 2)
        if not earlier_questions:
            return alone[:limit]
        with_context = self.search(
            f"{earlier_questions[-1]}\n{question}", libraries=libraries, limit=limit * 2
        )
        return fused([alone, with_context], limit)

    def _library_ids(self, names: Sequence[str] | None) -> list[int]:
        if names is None:
            return [record.id for record in self._store.libraries()]
        return [self._store.library(name).id for name in names]

    def _query_vector(self, embedder: Embedder, query: str) -> npt.NDArray[np.float32]:
        with self._engines.embedder(embedder.model, "interactive", "search") as lease:
            return lease.embed([embedder.query_prefix + query])[0]


def fused(rankings: Sequence[Sequence[FoundPassage]], limit: int) -> list[FoundPassage]:
    """Ranked lists of passages fused by reciprocal rank: a passage high in several lists
    comes first. A passage in several lists is kept as the last list has it: for a follow-up,
    its similarity to the question read with the one before (asking's relevance cut)."""
    found = {passage.passage_id: passage for ranking in rankings for passage in ranking}
    scores = fused_scores(
        *({passage.passage_id: float(-rank) for rank, passage in enumerate(r)} for r in rankings)
    )
    return [found[pid] for pid in sorted(scores, key=lambda pid: -scores[pid])[:limit]]
