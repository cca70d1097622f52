"""The documents' store: libraries, their sources and files (the indexing queue, kept in the
database so it survives restarts and crashes), and the files' passages, searched by words (FTS5,
bm25) and by meaning (sqlite-vec), the two lists fused by reciprocal rank.

Vectors live in one vec0 table per embedder, `passage_vectors_<embedders.id>`, created when its
first vectors are saved. They are unit vectors (normalized here too) compared by L2 distance,
whose order is the cosine's: similarity = 1 - distance² / 2. (vec0's own cosine metric ranks
the same, a fifth slower: benchmarks/docs_search.py.) vec0 rows do not cascade, so every
delete of passages here deletes their vectors in the same transaction."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Connection, Select, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desktop.errors import LibraryExists, LibraryNotFound
from desktop.store.db import Database, process_alive
from desktop.store.schema import (
    Embedder,
    Library,
    LibraryFile,
    LibrarySource,
    Passage,
    utc_now,
)

SEARCH_MODES = ("hybrid", "vector", "keyword")
RRF_K = 60  # reciprocal rank fusion: score = sum over the lists of 1 / (RRF_K + rank)
# At most about this many passages scored by bm25 for a query (about 1 µs each): its
# commonest words are left out beyond it (benchmarks/docs_search.py).
KEYWORD_SCORING_BUDGET = 10_000
_WORD = re.compile(r"\w+", re.UNICODE)
# How the passages' words are indexed (migration 0006): case and accents folded, English
# words stemmed ("evaluated" finds "evaluation"), as a question rarely has the text's forms.
PASSAGE_TOKENIZER = "porter unicode61 remove_diacritics 2"
# English function words: a question is full of them ("how do I ..."), and they say nothing
# of what it is about, yet bm25 would rank the passages that repeat them.
FUNCTION_WORDS = frozenset(
    {
        "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
        "been", "before", "being", "both", "but", "by", "can", "could", "did", "do", "does",
        "doing", "each", "either", "for", "from", "get", "gets", "got", "had", "has", "have",
        "having", "he", "her", "here", "him", "his", "how", "i", "if", "in", "into", "is", "it",
        "its", "just", "me", "might", "more", "most", "much", "must", "my", "no", "nor", "not",
        "of", "on", "once", "only", "or", "other", "our", "out", "over", "own", "same", "shall",
        "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then",
        "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
        "very", "was", "we", "were", "what", "when", "where", "whether", "which", "while", "who",
        "whom", "whose", "why", "will", "with", "would", "you", "your",
    }
)  # fmt: skip
# Vector searches run here while the word search runs in the caller's thread.
_VECTOR_SEARCHES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vector-search")


@dataclass(frozen=True)
class LibraryRecord:
    id: int
    name: str


@dataclass(frozen=True)
class SourceRecord:
    id: int
    library_id: int
    path: str
    is_folder: bool


@dataclass(frozen=True)
class FileRecord:
    id: int
    library_id: int
    source_id: int
    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    embedder: str | None
    status: str  # queued | indexing | indexed | failed
    error: str | None
    passages: int


@dataclass(frozen=True)
class NewPassage:
    start: int
    end: int
    page: int | None
    heading: str
    text: str


@dataclass(frozen=True)
class FoundPassage:
    passage_id: int
    library: str
    path: str
    page: int | None
    heading: str
    start: int
    end: int
    text: str
    # What ranked it: the fused RRF score (hybrid), the cosine similarity (vector), -bm25
    # (keyword); higher is better.
    score: float
    similarity: float | None  # cosine similarity to the query when vectors were searched


@dataclass(frozen=True)
class LibraryCounts:
    files: int
    queued: int  # waiting or being indexed
    indexed: int
    failed: int
    passages: int


def _library(row: Library) -> LibraryRecord:
    return LibraryRecord(row.id, row.name)


def _source(row: LibrarySource) -> SourceRecord:
    return SourceRecord(row.id, row.library_id, row.path, row.is_folder)


def _file(row: LibraryFile) -> FileRecord:
    return FileRecord(
        id=row.id,
        library_id=row.library_id,
        source_id=row.source_id,
        path=row.path,
        size=row.size,
        mtime_ns=row.mtime_ns,
        sha256=row.sha256,
        embedder=row.embedder,
        status=row.status,
        error=row.error,
        passages=row.passages,
    )


def keyword_query(words: Sequence[str]) -> str | None:
    """The words as an FTS5 query: any of them (bm25 ranks those holding more, and rarer,
    words first), each quoted so that nothing in the user's text is FTS5 syntax."""
    return " OR ".join(f'"{word}"' for word in words) or None


def _unit_rows(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.asarray(vectors / np.where(norms > 0, norms, 1), dtype=np.float32)


def _similarity(l2_distance: float) -> float:
    return 1.0 - l2_distance * l2_distance / 2.0


def _vector_table(embedder_id: int) -> str:
    return f"passage_vectors_{int(embedder_id)}"


_PASSAGES_FOUND = """
    SELECT p.id, l.name AS library, f.path, p.page, p.heading, p.start, p."end", p.text
    FROM passages AS p
    JOIN library_files AS f ON f.id = p.file_id
    JOIN libraries AS l ON l.id = f.library_id
    WHERE p.id IN ({ids})
"""


class DocumentStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    # Libraries

    def create_library(self, name: str) -> LibraryRecord:
        try:
            with self._db.session() as session:
                row = Library(name=name)
                session.add(row)
                session.flush()
                return _library(row)
        except IntegrityError as exc:
            raise LibraryExists(f"There is already a library called '{name}'.") from exc

    def library(self, name: str) -> LibraryRecord:
        with self._db.session() as session:
            row = session.scalars(select(Library).where(Library.name == name)).first()
            if row is None:
                names = ", ".join(f"'{r.name}'" for r in self.libraries()) or "none yet"
                raise LibraryNotFound(f"There is no library called '{name}'. Libraries: {names}.")
            return _library(row)

    def libraries(self) -> list[LibraryRecord]:
        with self._db.session() as session:
            return [_library(r) for r in session.scalars(select(Library).order_by(Library.name))]

    def remove_library(self, library_id: int) -> None:
        with self._db.session() as session:
            files = select(LibraryFile.id).where(LibraryFile.library_id == library_id)
            _delete_vectors(session, select(Passage.id).where(Passage.file_id.in_(files)))
            session.execute(delete(Library).where(Library.id == library_id))

    def counts(self, library_id: int) -> LibraryCounts:
        with self._db.session() as session:
            by_status: dict[str, int] = {
                status: count
                for status, count in session.execute(
                    select(LibraryFile.status, func.count())
                    .where(LibraryFile.library_id == library_id)
                    .group_by(LibraryFile.status)
                )
            }
            passages = session.scalar(
                select(func.coalesce(func.sum(LibraryFile.passages), 0)).where(
                    LibraryFile.library_id == library_id, LibraryFile.status == "indexed"
                )
            )
        return LibraryCounts(
            files=sum(by_status.values()),
            queued=by_status.get("queued", 0) + by_status.get("indexing", 0),
            indexed=by_status.get("indexed", 0),
            failed=by_status.get("failed", 0),
            passages=int(passages or 0),
        )

    # Sources and files

    def add_source(self, library_id: int, path: str, *, is_folder: bool) -> SourceRecord:
        """The library's source at `path`, added unless it is there already."""
        with self._db.session() as session:
            row = session.scalars(
                select(LibrarySource).where(
                    LibrarySource.library_id == library_id, LibrarySource.path == path
                )
            ).first()
            if row is None:
                row = LibrarySource(library_id=library_id, path=path, is_folder=is_folder)
                session.add(row)
                session.flush()
            return _source(row)

    def sources(self, library_id: int | None = None) -> list[SourceRecord]:
        query = select(LibrarySource).order_by(LibrarySource.library_id, LibrarySource.path)
        if library_id is not None:
            query = query.where(LibrarySource.library_id == library_id)
        with self._db.session() as session:
            return [_source(row) for row in session.scalars(query)]

    def remove_source(self, source_id: int) -> None:
        with self._db.session() as session:
            files = select(LibraryFile.id).where(LibraryFile.source_id == source_id)
            _delete_vectors(session, select(Passage.id).where(Passage.file_id.in_(files)))
            session.execute(delete(LibrarySource).where(LibrarySource.id == source_id))

    def files(self, library_id: int) -> list[FileRecord]:
        with self._db.session() as session:
            rows = session.scalars(
                select(LibraryFile)
                .where(LibraryFile.library_id == library_id)
                .order_by(LibraryFile.path)
            )
            return [_file(row) for row in rows]

    def note_file(self, source_id: int, path: str, size: int, mtime_ns: int) -> FileRecord:
        """A file found under a source: queued if it is new or its size or time changed (its
        size and time are recorded when it is indexed, so a crash before that leaves it
        changed); as it was otherwise."""
        with self._db.session() as session:
            source = session.get_one(LibrarySource, source_id)
            row = session.scalars(
                select(LibraryFile).where(
                    LibraryFile.library_id == source.library_id, LibraryFile.path == path
                )
            ).first()
            if row is None:
                row = LibraryFile(
                    library_id=source.library_id,
                    source_id=source_id,
                    path=path,
                    size=size,
                    mtime_ns=mtime_ns,
                    status="queued",
                    passages=0,
                )
                session.add(row)
            elif (row.size, row.mtime_ns) != (size, mtime_ns) and row.status != "queued":
                row.status, row.error = "queued", None
            session.flush()
            return _file(row)

    def remove_files(self, file_ids: Sequence[int]) -> None:
        with self._db.session() as session:
            _delete_vectors(session, select(Passage.id).where(Passage.file_id.in_(file_ids)))
            session.execute(delete(LibraryFile).where(LibraryFile.id.in_(file_ids)))

    # The indexing queue (one writer: the app's index run)

    def claim_next(self, library_ids: Sequence[int] | None = None) -> FileRecord | None:
        """The oldest queued file, now marked as being indexed; None when none is queued."""
        with self._db.session() as session:
            query = select(LibraryFile).where(LibraryFile.status == "queued")
            if library_ids is not None:
                query = query.where(LibraryFile.library_id.in_(library_ids))
            row = session.scalars(query.order_by(LibraryFile.id).limit(1)).first()
            if row is None:
                return None
            row.status, row.writer_pid = "indexing", os.getpid()
            session.flush()
            return _file(row)

    def queued_bytes(self, library_ids: Sequence[int] | None = None) -> tuple[int, int]:
        """How many files wait in the queue, and their bytes (for the time left)."""
        query = select(func.count(), func.coalesce(func.sum(LibraryFile.size), 0)).where(
            LibraryFile.status.in_(("queued", "indexing"))
        )
        if library_ids is not None:
            query = query.where(LibraryFile.library_id.in_(library_ids))
        with self._db.session() as session:
            files, size = session.execute(query).one()
        return int(files), int(size)

    def requeue_unfinished(self) -> int:
        """Files left being indexed by a run that ended (a cancel, a crash, a kill) go back to
        the queue; those another living process is indexing stay with it."""
        with self._db.session() as session:
            claimed = session.execute(
                select(LibraryFile.id, LibraryFile.writer_pid).where(
                    LibraryFile.status == "indexing"
                )
            ).all()
        mine = os.getpid()
        ended = [
            fid for fid, pid in claimed if pid is None or pid == mine or not process_alive(pid)
        ]
        if not ended:
            return 0
        return self._requeue(LibraryFile.id.in_(ended), LibraryFile.status == "indexing")

    def requeue_other_embedders(self, embedder_key: str) -> int:
        """Files indexed with another embedder than `embedder_key` are indexed again."""
        return self._requeue(LibraryFile.status == "indexed", LibraryFile.embedder != embedder_key)

    def _requeue(self, *where: ColumnElement[bool]) -> int:
        with self._db.session() as session:
            requeued = session.scalars(
                update(LibraryFile).where(*where).values(status="queued").returning(LibraryFile.id)
            ).all()
            return len(requeued)

    def save_passages(
        self,
        file_id: int,
        *,
        sha256: str,
        embedder_key: str,
        size: int,
        mtime_ns: int,
        passages: Sequence[NewPassage],
        vectors: npt.NDArray[np.float32],
    ) -> None:
        """In one transaction: the file's old passages (their words and vectors too) out, the
        new ones in, the file indexed. A crash anywhere leaves the old state or the new one. A
        file removed meanwhile stays removed."""
        if vectors.ndim != 2 or vectors.shape[0] != len(passages):
            raise ValueError(
                f"{len(passages)} passages need as many vectors, not an array of {vectors.shape}"
            )
        with self._db.session() as session:
            file = session.get(LibraryFile, file_id)
            if file is None:  # removed while it was read (its source, or its library)
                return
            old = select(Passage.id).where(Passage.file_id == file_id)
            _delete_vectors(session, old)
            session.execute(delete(Passage).where(Passage.file_id == file_id))
            ids: list[int] = []
            if passages:
                ids = list(
                    session.scalars(
                        insert(Passage).returning(Passage.id, sort_by_parameter_order=True),
                        [
                            {
                                "file_id": file_id,
                                "ordinal": ordinal,
                                "start": p.start,
                                "end": p.end,
                                "page": p.page,
                                "heading": p.heading,
                                "text": p.text,
                            }
                            for ordinal, p in enumerate(passages)
                        ],
                    )
                )
                units = _unit_rows(vectors)
                table = _vector_table_for(session, embedder_key, int(vectors.shape[1]))
                _connection(session).exec_driver_sql(
                    f"INSERT INTO {table}(passage_id, library_id, embedding) VALUES (?, ?, ?)",
                    [(pid, file.library_id, units[i].tobytes()) for i, pid in enumerate(ids)],
                )
            file.sha256, file.embedder = sha256, embedder_key
            file.size, file.mtime_ns = size, mtime_ns
            file.status, file.error = "indexed", None
            file.passages, file.indexed_at = len(ids), utc_now()

    def mark_unchanged(self, file_id: int, *, size: int, mtime_ns: int) -> None:
        """Its contents are those indexed (the sha256 matched): only its size and time moved."""
        with self._db.session() as session:
            session.execute(
                update(LibraryFile)
                .where(LibraryFile.id == file_id)
                .values(size=size, mtime_ns=mtime_ns, status="indexed", error=None)
            )

    def mark_failed(self, file_id: int, error: str) -> None:
        with self._db.session() as session:
            session.execute(
                update(LibraryFile)
                .where(LibraryFile.id == file_id)
                .values(status="failed", error=error)
            )

    # Search

    def search(
        self,
        query: str,
        query_vector: npt.NDArray[np.float32] | None,
        *,
        embedder_key: str,
        library_ids: Sequence[int],
        limit: int,
        mode: str = "hybrid",
    ) -> list[FoundPassage]:
        """The passages of the libraries that best fit the query: by meaning (`vector`), by
        words (`keyword`), or both fused by reciprocal rank (`hybrid`, each list
        `max(limit * 4, 20)` deep). Without a query vector, only words are searched."""
        if mode not in SEARCH_MODES:
            raise ValueError(f"Search mode {mode!r} is not one of {', '.join(SEARCH_MODES)}")
        if not library_ids or limit <= 0:
            return []
        unit = None if query_vector is None else _unit_rows(np.asarray(query_vector))
        depth = limit if mode != "hybrid" else max(limit * 4, 20)
        with self._db.engine.connect() as connection:
            table = _existing_vector_table(connection, embedder_key)
            nearest: Future[dict[int, float]] | None = None
            if mode != "keyword" and unit is not None and table is not None:
                # On a connection of its own, beside the word search: SQLite lets the GIL go
                # while it scans, so a hybrid search takes about as long as its slower half.
                nearest = _VECTOR_SEARCHES.submit(
                    self._nearest_on_own_connection, table, unit, library_ids, depth
                )
            worded: dict[int, float] = {}
            if mode != "vector":
                worded = _best_worded(
                    connection, query, library_ids, depth, keep_rarest=mode == "keyword"
                )
            similar = {} if nearest is None else nearest.result()
            if mode == "vector":
                scores = similar
            elif mode == "keyword":
                scores = worded
            else:
                scores = fused_scores(similar, worded)
            best = sorted(scores, key=lambda pid: -scores[pid])[:limit]
            if unit is not None and table is not None:
                missing = [pid for pid in best if pid not in similar]
                similar.update(_similarities(connection, table, unit, missing))
            found = _passages(connection, best)
        return [
            _found(found[pid], scores[pid], similar.get(pid) if unit is not None else None)
            for pid in best
            if pid in found
        ]

    def _nearest_on_own_connection(
        self, table: str, unit: npt.NDArray[np.float32], library_ids: Sequence[int], depth: int
    ) -> dict[int, float]:
        with self._db.engine.connect() as connection:
            return _nearest(connection, table, unit, library_ids, depth)

    def passage(self, passage_id: int) -> FoundPassage:
        with self._db.engine.connect() as connection:
            found = _passages(connection, [passage_id])
        if passage_id not in found:
            raise KeyError(f"No passage {passage_id}")
        return _found(found[passage_id], 0.0, None)


def _connection(session: Session) -> Connection:
    return session.connection()


def _vector_tables(session: Session) -> list[str]:
    return [_vector_table(eid) for eid in session.scalars(select(Embedder.id))]


def _delete_vectors(session: Session, passage_ids: Select[int]) -> None:
    """Delete the vectors of the passages `passage_ids` (a select of ids) from every
    embedder's table: vec0 rows do not cascade."""
    tables = _vector_tables(session)
    if not tables:
        return
    ids = list(session.scalars(passage_ids))
    if not ids:
        return
    connection = _connection(session)
    for table in tables:
        connection.exec_driver_sql(
            f"DELETE FROM {table} WHERE passage_id = ?", [(pid,) for pid in ids]
        )


def _vector_table_for(session: Session, embedder_key: str, dimension: int) -> str:
    """The vec0 table of the embedder, created with its first vectors."""
    row = session.scalars(select(Embedder).where(Embedder.key == embedder_key)).first()
    if row is None:
        row = Embedder(key=embedder_key, dimension=dimension)
        session.add(row)
        session.flush()
        _connection(session).exec_driver_sql(
            f"CREATE VIRTUAL TABLE {_vector_table(row.id)} USING vec0("
            "passage_id integer primary key, library_id integer partition key, "
            f"embedding float[{dimension}])"
        )
    elif row.dimension != dimension:
        raise ValueError(
            f"The embedder {embedder_key} makes vectors of {row.dimension} numbers, not {dimension}"
        )
    return _vector_table(row.id)


def _existing_vector_table(connection: Connection, embedder_key: str) -> str | None:
    embedder_id = connection.execute(
        select(Embedder.id).where(Embedder.key == embedder_key)
    ).scalar()
    return None if embedder_id is None else _vector_table(embedder_id)


def _nearest(
    connection: Connection,
    table: str,
    unit: npt.NDArray[np.float32],
    library_ids: Sequence[int],
    depth: int,
) -> dict[int, float]:
    """The `depth` passages nearest the query, with their cosine similarity. vec0 answers a
    partition key IN (...) with `depth` rows per library: the nearest of all are kept."""
    marks = ", ".join("?" for _ in library_ids)
    rows = connection.exec_driver_sql(
        f"SELECT passage_id, distance FROM {table} "
        f"WHERE embedding MATCH ? AND k = ? AND library_id IN ({marks})",
        (unit.tobytes(), depth, *library_ids),
    ).all()
    nearest = sorted(rows, key=lambda row: row[1])[:depth]
    return {int(pid): _similarity(float(distance)) for pid, distance in nearest}


def _similarities(
    connection: Connection, table: str, unit: npt.NDArray[np.float32], passage_ids: Sequence[int]
) -> dict[int, float]:
    """The cosine similarity to the query of passages found by words alone."""
    if not passage_ids:
        return {}
    # One lookup each: vec0 answers `passage_id IN (...)` by reading every vector.
    similarities = {}
    for pid in passage_ids:
        blob = connection.exec_driver_sql(
            f"SELECT embedding FROM {table} WHERE passage_id = ?", (pid,)
        ).scalar()
        if blob is not None:
            similarities[int(pid)] = float(np.frombuffer(blob, dtype=np.float32) @ unit)
    return similarities


def _telling_words(connection: Connection, query: str, *, keep_rarest: bool) -> list[str]:
    """The query's words that say what it is about: function words left out (unless they
    are all it has), then the rarest words, as many as keep the passages bm25 must score
    within KEYWORD_SCORING_BUDGET (the rarest one always when `keep_rarest`; beside a vector
    search, a word in that many passages says too little to be worth its time): bm25 scores
    every passage holding any word, and a word held by many passages weighs little in their
    ranking."""
    words = list(dict.fromkeys(word.lower() for word in _WORD.findall(query)))
    words = [word for word in words if word not in FUNCTION_WORDS] or words
    if len(words) < 2:
        return words
    stems = _stems(connection, words)
    marks = ", ".join("?" for _ in stems)
    held_by: dict[str, int] = dict(
        connection.exec_driver_sql(
            f"SELECT term, doc FROM passages_fts_words WHERE term IN ({marks})",
            tuple(stems.values()),
        ).all()
    )
    by_rarity = sorted(stems, key=lambda word: held_by.get(stems[word], 0))
    if not by_rarity:
        return words
    telling: list[str] = []
    scored = 0
    for word in by_rarity:
        scored += held_by.get(stems[word], 0)
        if scored > KEYWORD_SCORING_BUDGET and (telling or not keep_rarest):
            break
        telling.append(word)
    return telling


def _stems(connection: Connection, words: Sequence[str]) -> dict[str, str]:
    """Each word as the index holds it (folded and stemmed by the same tokenizer), through a
    scratch FTS5 table of the connection's own; words that give no term are left out."""
    connection.exec_driver_sql(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_words USING fts5(word, "
        f"tokenize='{PASSAGE_TOKENIZER}')"
    )
    connection.exec_driver_sql(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_terms "
        "USING fts5vocab('temp', 'query_words', 'instance')"
    )
    connection.exec_driver_sql("DELETE FROM temp.query_words")
    for number, word in enumerate(words):
        connection.exec_driver_sql(
            "INSERT INTO temp.query_words(rowid, word) VALUES (?, ?)", (number, word)
        )
    rows = connection.exec_driver_sql("SELECT doc, term FROM temp.query_terms").all()
    return {words[number]: term for number, term in rows}


def _best_worded(
    connection: Connection,
    query: str,
    library_ids: Sequence[int],
    depth: int,
    *,
    keep_rarest: bool,
) -> dict[int, float]:
    """The `depth` passages best ranked by bm25 for the query's words, with -bm25."""
    match = keyword_query(_telling_words(connection, query, keep_rarest=keep_rarest))
    if match is None:
        return {}
    marks = ", ".join("?" for _ in library_ids)
    rows = connection.exec_driver_sql(
        "SELECT passages_fts.rowid, bm25(passages_fts) AS rank FROM passages_fts "
        "JOIN passages AS p ON p.id = passages_fts.rowid "
        "JOIN library_files AS f ON f.id = p.file_id "
        f"WHERE passages_fts MATCH ? AND f.library_id IN ({marks}) "
        "ORDER BY rank LIMIT ?",
        (match, *library_ids, depth),
    ).all()
    return {int(pid): -float(rank) for pid, rank in rows}


def fused_scores(*ranked: dict[int, float]) -> dict[int, float]:
    """Reciprocal rank fusion of lists of scores (each higher-is-better)."""
    fused: dict[int, float] = {}
    for scores in ranked:
        order = sorted(scores, key=lambda pid: -scores[pid])
        for rank, pid in enumerate(order, start=1):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (RRF_K + rank)
    return fused


def _passages(connection: Connection, passage_ids: Iterable[int]) -> dict[int, tuple]:
    ids = [int(pid) for pid in passage_ids]
    if not ids:
        return {}
    rows = connection.execute(text(_PASSAGES_FOUND.format(ids=", ".join(map(str, ids))))).all()
    return {int(row[0]): tuple(row) for row in rows}


def _found(row: tuple, score: float, similarity: float | None) -> FoundPassage:
    pid, library, path, page, heading, start, end, passage_text = row
    return FoundPassage(
        passage_id=pid,
        library=library,
        path=path,
        page=page,
        heading=heading,
        start=start,
        end=end,
        text=passage_text,
        score=score,
        similarity=similarity,
    )
