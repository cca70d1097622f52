"""The documents' store on a real SQLite file with the real sqlite-vec: libraries, sources and
files, the indexing queue, passages replaced whole or not at all, and hybrid search."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from desktop.errors import LibraryExists, LibraryNotFound
from desktop.store.db import Database
from desktop.store.documents import DocumentStore, FileRecord, NewPassage
from desktop.store.schema import LibraryFile

DIM = 8
KEY = "all-MiniLM-L6-v2"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "lantern.sqlite3")
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> DocumentStore:
    return DocumentStore(db)


def unit(*values: float) -> npt.NDArray[np.float32]:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def random_vectors(count: int, seed: int = 0) -> npt.NDArray[np.float32]:
    vectors = np.random.default_rng(seed).standard_normal((count, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def passages_of(*texts: str) -> list[NewPassage]:
    out, start = [], 0
    for text in texts:
        out.append(NewPassage(start=start, end=start + len(text), page=None, heading="", text=text))
        start += len(text) + 1
    return out


def add_file(store: DocumentStore, library: str, path: str) -> FileRecord:
    try:
        record = store.library(library)
    except LibraryNotFound:
        record = store.create_library(library)
    source = store.add_source(record.id, path, is_folder=False)
    return store.note_file(source.id, path, size=10, mtime_ns=1)


def index(
    store: DocumentStore,
    file: FileRecord,
    texts: list[str],
    vectors: npt.NDArray[np.float32] | None = None,
    *,
    key: str = KEY,
) -> None:
    store.save_passages(
        file.id,
        sha256="ab" * 32,
        embedder_key=key,
        size=file.size,
        mtime_ns=file.mtime_ns,
        passages=passages_of(*texts),
        vectors=random_vectors(len(texts)) if vectors is None else vectors,
    )


def table_rows(db: Database, sql: str) -> int:
    with db.engine.connect() as connection:
        return int(connection.exec_driver_sql(sql).scalar() or 0)


def stored_rows(db: Database) -> tuple[int, int, int]:
    """Passages, full-text rows and vectors in the database."""
    return (
        table_rows(db, "SELECT count(*) FROM passages"),
        table_rows(db, "SELECT count(*) FROM passages_fts_docsize"),
        table_rows(db, "SELECT count(*) FROM passage_vectors_1"),
    )


def test_libraries_are_created_found_listed_and_named_once(store: DocumentStore) -> None:
    mine = store.create_library("My documents")
    store.create_library("Work")
    assert store.library("My documents") == mine
    assert [lib.name for lib in store.libraries()] == ["My documents", "Work"]
    with pytest.raises(LibraryExists, match="My documents"):
        store.create_library("My documents")
    with pytest.raises(LibraryNotFound, match=r"'Notes'.*'My documents', 'Work'"):
        store.library("Notes")


def test_sources_are_added_once_and_listed_by_library(store: DocumentStore) -> None:
    docs, work = store.create_library("Docs"), store.create_library("Work")
    folder = store.add_source(docs.id, "/home/me/notes", is_folder=True)
    assert store.add_source(docs.id, "/home/me/notes", is_folder=True) == folder
    single = store.add_source(work.id, "/home/me/plan.md", is_folder=False)
    assert store.sources(docs.id) == [folder]
    assert store.sources() == [folder, single]
    assert folder.is_folder and not single.is_folder


def test_note_file_queues_new_and_changed_files_and_leaves_unchanged_ones(
    store: DocumentStore,
) -> None:
    library = store.create_library("Docs")
    source = store.add_source(library.id, "/notes", is_folder=True)
    new = store.note_file(source.id, "/notes/a.md", size=100, mtime_ns=5)
    assert (new.status, new.sha256, new.passages) == ("queued", None, 0)
    index(store, new, ["alpha", "beta"])

    unchanged = store.note_file(source.id, "/notes/a.md", size=100, mtime_ns=5)
    assert (unchanged.id, unchanged.status, unchanged.passages) == (new.id, "indexed", 2)

    changed = store.note_file(source.id, "/notes/a.md", size=120, mtime_ns=9)
    assert (changed.id, changed.status) == (new.id, "queued")
    # The size and time of what was indexed are kept until it is indexed again.
    assert (changed.size, changed.mtime_ns) == (100, 5)

    claimed = store.claim_next()
    assert claimed is not None and claimed.id == new.id
    store.mark_unchanged(new.id, size=120, mtime_ns=9)  # same contents, touched
    again = store.note_file(source.id, "/notes/a.md", size=120, mtime_ns=9)
    assert (again.status, again.size, again.passages) == ("indexed", 120, 2)

    failed = store.note_file(source.id, "/notes/broken.pdf", size=7, mtime_ns=1)
    store.mark_failed(failed.id, "The PDF is encrypted.")
    still = store.note_file(source.id, "/notes/broken.pdf", size=7, mtime_ns=1)
    assert (still.status, still.error) == ("failed", "The PDF is encrypted.")
    assert store.counts(library.id) == store.counts(library.id).__class__(
        files=2, queued=0, indexed=1, failed=1, passages=2
    )


def test_save_passages_replaces_a_files_passages_words_and_vectors(
    db: Database, store: DocumentStore
) -> None:
    file = add_file(store, "Docs", "/a.txt")
    index(store, file, ["the old first", "the old second", "the old third"])
    assert stored_rows(db) == (3, 3, 3)

    index(store, file, ["a new text about lighthouses", "and keepers"])
    assert stored_rows(db) == (2, 2, 2)
    library = store.library("Docs")
    found = store.search(
        "old", None, embedder_key=KEY, library_ids=[library.id], limit=5, mode="keyword"
    )
    assert found == []
    found = store.search(
        "lighthouses", None, embedder_key=KEY, library_ids=[library.id], limit=5, mode="keyword"
    )
    assert [p.text for p in found] == ["a new text about lighthouses"]
    [record] = store.files(library.id)
    assert (record.status, record.passages, record.embedder) == ("indexed", 2, KEY)


def test_save_passages_is_all_or_nothing(db: Database, store: DocumentStore) -> None:
    file = add_file(store, "Docs", "/a.txt")
    index(store, file, ["kept one", "kept two"])
    before = store.files(file.library_id)
    broken = [*passages_of("new one"), NewPassage(0, 3, None, "", None)]  # type: ignore[arg-type]
    with pytest.raises(Exception, match="NOT NULL"):
        store.save_passages(
            file.id,
            sha256="cd" * 32,
            embedder_key=KEY,
            size=99,
            mtime_ns=99,
            passages=broken,
            vectors=random_vectors(2, seed=3),
        )
    assert stored_rows(db) == (2, 2, 2)
    assert store.files(file.library_id) == before
    found = store.search(
        "kept", None, embedder_key=KEY, library_ids=[file.library_id], limit=5, mode="keyword"
    )
    assert sorted(p.text for p in found) == ["kept one", "kept two"]


def test_save_passages_refuses_vectors_that_do_not_match_the_passages(
    store: DocumentStore,
) -> None:
    file = add_file(store, "Docs", "/a.txt")
    with pytest.raises(ValueError, match="2 passages"):
        index(store, file, ["one", "two"], random_vectors(3))
    index(store, file, ["one"])
    with pytest.raises(ValueError, match="8 numbers, not 4"):
        index(store, file, ["one"], np.ones((1, 4), dtype=np.float32))


def test_removing_files_sources_and_libraries_removes_their_passages_words_and_vectors(
    db: Database, store: DocumentStore
) -> None:
    a = add_file(store, "Docs", "/a.txt")
    b = add_file(store, "Docs", "/b.txt")
    c = add_file(store, "Work", "/c.txt")
    for file in (a, b, c):
        index(store, file, [f"{file.path} first", f"{file.path} second"])
    assert stored_rows(db) == (6, 6, 6)

    store.remove_files([a.id])
    assert stored_rows(db) == (4, 4, 4)
    [source_b] = [s for s in store.sources() if s.path == "/b.txt"]
    store.remove_source(source_b.id)
    assert stored_rows(db) == (2, 2, 2)
    assert store.files(b.library_id) == []
    store.remove_library(c.library_id)
    assert stored_rows(db) == (0, 0, 0)
    assert [lib.name for lib in store.libraries()] == ["Docs"]


def test_the_queue_hands_out_the_oldest_file_and_requeues_unfinished_work(
    store: DocumentStore,
) -> None:
    first = add_file(store, "Docs", "/1.txt")
    second = add_file(store, "Docs", "/2.txt")
    other = add_file(store, "Work", "/3.txt")

    claimed = store.claim_next()
    assert claimed is not None and (claimed.id, claimed.status) == (first.id, "indexing")
    only_work = store.claim_next([other.library_id])
    assert only_work is not None and only_work.id == other.id
    # The run was killed here: at the next start both go back to the queue.
    assert store.requeue_unfinished() == 2
    order = [store.claim_next(), store.claim_next(), store.claim_next(), store.claim_next()]
    assert [f.id if f else None for f in order] == [first.id, second.id, other.id, None]


def test_a_file_another_living_process_indexes_stays_with_it(
    db: Database, store: DocumentStore
) -> None:
    living = add_file(store, "Docs", "/living.txt")
    dead = add_file(store, "Docs", "/dead.txt")
    store.claim_next()
    store.claim_next()
    with subprocess.Popen([sys.executable, "-c", "pass"]) as ended:
        ended.wait()
    with db.session() as session:  # as if two other Lanterns had claimed them
        for file, pid in ((living, os.getppid()), (dead, ended.pid)):
            session.execute(
                update(LibraryFile).where(LibraryFile.id == file.id).values(writer_pid=pid)
            )
    assert store.requeue_unfinished() == 1
    statuses = {f.path: f.status for f in store.files(living.library_id)}
    assert statuses == {"/living.txt": "indexing", "/dead.txt": "queued"}


def test_changing_the_embedder_requeues_files_indexed_with_another(
    db: Database, store: DocumentStore
) -> None:
    a = add_file(store, "Docs", "/a.txt")
    b = add_file(store, "Docs", "/b.txt")
    index(store, a, ["alpha"])
    index(store, b, ["beta"], key="nomic-embed-text")
    assert store.requeue_other_embedders(KEY) == 1
    assert {f.path: f.status for f in store.files(a.library_id)} == {
        "/a.txt": "indexed",
        "/b.txt": "queued",
    }
    # Indexed again with the new embedder: the old model's vectors go.
    index(store, b, ["beta"])
    assert table_rows(db, "SELECT count(*) FROM passage_vectors_1") == 2
    assert table_rows(db, "SELECT count(*) FROM passage_vectors_2") == 0


def test_vector_search_ranks_by_cosine_similarity(store: DocumentStore) -> None:
    file = add_file(store, "Docs", "/a.txt")
    vectors = np.stack([unit(1, 0), unit(1, 1), unit(0, 1), unit(-1, 0)])
    index(store, file, ["east", "north-east", "north", "west"], vectors)
    found = store.search(
        "", unit(1, 0.2), embedder_key=KEY, library_ids=[file.library_id], limit=3, mode="vector"
    )
    assert [p.text for p in found] == ["east", "north-east", "north"]
    expected = [float(v @ unit(1, 0.2)) for v in vectors[:3]]
    assert [p.similarity for p in found] == pytest.approx(expected, abs=1e-5)
    assert [p.score for p in found] == pytest.approx(expected, abs=1e-5)


def test_hybrid_finds_what_each_list_alone_misses(store: DocumentStore) -> None:
    """Words alone rank a passage that only repeats the query's rare word first; meaning
    alone ranks a paraphrase first. The passage that has both is first only when fused."""
    file = add_file(store, "Docs", "/a.txt")
    query = unit(1, 0)
    texts = [
        "solar panel solar panel solar panel catalogue prices",  # words, not meaning
        "sunlight turned into electricity on your roof",  # meaning, no words
        "how a solar panel turns light into power",  # both, second in each list
        *[f"unrelated note number {n}" for n in range(30)],
    ]
    vectors = np.stack([unit(-1, 0), unit(1, 0.05), unit(1, 0.3), *[unit(0, 0, 1)] * 30])
    index(store, file, texts, vectors)
    ids = [file.library_id]

    def first(mode: str) -> str:
        found = store.search(
            "solar panel", query, embedder_key=KEY, library_ids=ids, limit=3, mode=mode
        )
        return found[0].text

    assert first("keyword") == texts[0]
    assert first("vector") == texts[1]
    assert first("hybrid") == texts[2]
    hybrid = store.search("solar panel", query, embedder_key=KEY, library_ids=ids, limit=3)
    # Every passage of a hybrid search carries its similarity, found by words or by meaning.
    assert all(p.similarity is not None for p in hybrid)
    assert hybrid[0].score == pytest.approx(2 / (60 + 2))


def test_search_keeps_to_the_libraries_asked(store: DocumentStore) -> None:
    docs = [add_file(store, "Docs", f"/docs/{n}.txt") for n in range(3)]
    work = [add_file(store, "Work", f"/work/{n}.txt") for n in range(3)]
    for n, file in enumerate([*docs, *work]):
        index(store, file, [f"shared words in file {n}"], random_vectors(1, seed=n))
    docs_id, work_id = docs[0].library_id, work[0].library_id
    query = random_vectors(1, seed=42)[0]
    for mode in ("hybrid", "vector", "keyword"):
        found = store.search(
            "shared words", query, embedder_key=KEY, library_ids=[work_id], limit=10, mode=mode
        )
        assert {p.library for p in found} == {"Work"}, mode
        assert len(found) == 3
    both = store.search(
        "shared", query, embedder_key=KEY, library_ids=[docs_id, work_id], limit=4, mode="vector"
    )
    # The nearest of both libraries together, not the nearest of each.
    similarities = sorted(
        (float(random_vectors(1, seed=n)[0] @ query) for n in range(6)), reverse=True
    )
    assert [p.similarity for p in both] == pytest.approx(similarities[:4], abs=1e-5)


def test_found_passages_say_where_they_are(store: DocumentStore) -> None:
    file = add_file(store, "Docs", "/manual.pdf")
    store.save_passages(
        file.id,
        sha256="ef" * 32,
        embedder_key=KEY,
        size=10,
        mtime_ns=1,
        passages=[NewPassage(120, 180, 3, "Install > On Linux", "Run the installer as root.")],
        vectors=random_vectors(1),
    )
    [found] = store.search(
        "installer", None, embedder_key=KEY, library_ids=[file.library_id], limit=5
    )
    assert (found.library, found.path, found.page, found.heading) == (
        "Docs",
        "/manual.pdf",
        3,
        "Install > On Linux",
    )
    assert (found.start, found.end, found.similarity) == (120, 180, None)
    assert store.passage(found.passage_id).text == "Run the installer as root."


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DocumentStore, int]]:
    database = Database(tmp_path_factory.mktemp("hostile") / "lantern.sqlite3")
    store = DocumentStore(database)
    file = add_file(store, "Docs", "/a.txt")
    index(store, file, ['quotes " and * stars', "NEAR(a b) AND OR NOT", "Ünïcödé café"])
    yield store, file.library_id
    database.close()


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=60))
def test_any_query_text_searches_without_an_error(
    searched: tuple[DocumentStore, int], query: str
) -> None:
    store, library_id = searched
    vector = random_vectors(1)[0]
    for mode in ("hybrid", "keyword"):
        found = store.search(
            query, vector, embedder_key=KEY, library_ids=[library_id], limit=5, mode=mode
        )
        assert len(found) <= 3, mode


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"', []),
        ("*** --- ()", []),
        ('quotes"', ['quotes " and * stars']),
        ("NEAR(a b)", ["NEAR(a b) AND OR NOT"]),
        ("cafe", ["Ünïcödé café"]),
    ],
)
def test_fts5_syntax_in_a_query_is_just_text(
    searched: tuple[DocumentStore, int], query: str, expected: list[str]
) -> None:
    store, library_id = searched
    found = store.search(
        query, None, embedder_key=KEY, library_ids=[library_id], limit=5, mode="keyword"
    )
    assert [p.text for p in found] == expected


def test_words_are_found_in_their_other_forms_and_function_words_rank_nothing(
    store: DocumentStore,
) -> None:
    file = add_file(store, "Docs", "/guide.txt")
    index(
        store,
        file,
        [
            "How it is done, and what it is for, and how to do it again and again.",
            "The arguments are evaluated from left to right before the call.",
        ],
    )
    [found] = [
        p.text
        for p in store.search(
            "how do I know in which order it evaluates arguments",
            None,
            embedder_key=KEY,
            library_ids=[file.library_id],
            limit=1,
            mode="keyword",
        )
    ]
    assert found.startswith("The arguments are evaluated")


def test_a_file_removed_while_it_was_read_stays_removed(db: Database, store: DocumentStore) -> None:
    file = add_file(store, "Docs", "/gone.txt")
    claimed = store.claim_next()
    assert claimed is not None
    store.remove_source(store.sources(file.library_id)[0].id)
    index(store, claimed, ["written after its source was removed"])
    assert store.files(file.library_id) == []
    assert table_rows(db, "SELECT count(*) FROM passages") == 0
