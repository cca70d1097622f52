"""Libraries of the user's files (issue 19): added, indexed with the real converted
all-MiniLM-L6-v2 in the engine, searched by meaning and by words; files changed, removed,
hostile; a folder of 2,000 files; a folder watched while Lantern runs."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from sample_documents import docx_inflating_to, pdf_with_pages

from desktop.errors import LanternError
from desktop.models.installed import InstalledModel
from desktop.services.app import Lantern
from desktop.services.indexing import IndexProgress

pytestmark = pytest.mark.engine

KEEPER = """# The lighthouse

## Duties

The keeper trims the wick at dusk and winds the clockwork that turns the lens.

## Weather

Every morning the keeper writes the wind, the sea and the sky in the log book.
"""
GARDEN = "Tomatoes want sun and steady water; their leaves curl when the soil dries out.\n"
BREAD = "Bread rises because yeast eats sugar and breathes out bubbles of gas into the dough.\n"


@pytest.fixture
def app(installed_embedder: InstalledModel) -> Iterator[Lantern]:
    lantern = Lantern()
    yield lantern
    lantern.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    (folder / "sea").mkdir(parents=True)
    (folder / "sea" / "keeper.md").write_text(KEEPER)
    (folder / "garden.txt").write_text(GARDEN)
    (folder / "bread.txt").write_text(BREAD)
    return folder


def index(app: Lantern, library: str | None = None) -> list[IndexProgress]:
    run = app.documents.index(library)
    events = list(run)
    assert run.outcome is not None and run.outcome.status == "complete"
    return events


def test_a_folder_is_indexed_and_a_paraphrased_question_finds_its_passage(
    app: Lantern, folder: Path
) -> None:
    report = app.documents.add([folder], "Notes")
    assert report.queued == 3
    events = index(app)
    assert events[-1].files_done == 3 and events[-1].state == "ended"
    [library] = app.documents.libraries()
    assert (library.name, library.counts.indexed, library.counts.queued) == ("Notes", 3, 0)

    # No word of the question but "keeper" is in the passage; meaning finds it.
    [best, *_] = app.documents.search("what does the lighthouse man record each day", limit=3)
    assert best.path == str(folder / "sea" / "keeper.md")
    assert "log book" in best.text
    assert best.heading == "The lighthouse > Weather"
    assert KEEPER[best.start : best.end] == best.text
    [by_words] = app.documents.search("yeast", limit=1, mode="keyword")
    assert by_words.path.endswith("bread.txt")


def test_pdf_passages_know_their_page(app: Lantern, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(
        pdf_with_pages("The harbour opened in spring.", "Gulls nested on the north pier.")
    )
    app.documents.add([pdf], "Reports")
    index(app)
    [found] = app.documents.search("birds building nests", limit=1)
    assert (found.path, found.page) == (str(pdf), 2)


def test_changed_files_are_indexed_again_removed_ones_leave_and_touched_ones_cost_a_hash(
    app: Lantern, folder: Path
) -> None:
    app.documents.add([folder])
    index(app)
    garden, bread = folder / "garden.txt", folder / "bread.txt"
    garden.write_text("Roses need pruning in late winter, just above an outward bud.\n")
    bread.unlink()
    keeper = folder / "sea" / "keeper.md"
    os.utime(keeper, ns=(keeper.stat().st_atime_ns, keeper.stat().st_mtime_ns + 10**9))

    report = app.documents.scan()
    assert (report.queued, report.removed) == (2, 1)  # garden changed, keeper touched
    events = index(app)
    assert events[-1].passages == 1  # the keeper's text is the same: only the garden's new one

    assert app.documents.search("yeast", mode="keyword") == []
    [rose] = app.documents.search("pruning", mode="keyword")
    assert rose.path == str(garden)
    assert app.documents.search("tomatoes", mode="keyword") == []
    statuses = {Path(f.path).name: f.status for f in app.documents.files("My documents")}
    assert statuses == {"garden.txt": "indexed", "keeper.md": "indexed"}


def test_hostile_and_unreadable_files_fail_alone_with_their_reason(
    app: Lantern, folder: Path
) -> None:
    (folder / "bomb.docx").write_bytes(docx_inflating_to(300 * 1024 * 1024))
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 1000)
    (folder / "empty.md").write_text("")
    (folder / "loop").symlink_to(folder)  # a link back up is not followed round
    (folder / "huge.txt").write_bytes(b"a" * (9 * 1024 * 1024))
    app.documents.add([folder])
    events = index(app)
    failed = {Path(f.path).name: f.error for f in app.documents.failed_files()}
    assert events[-1].failed == 4, sorted(failed)
    assert set(failed) == {"bomb.docx", "binary.txt", "empty.md", "huge.txt"}
    assert all(error for error in failed.values())
    assert "empty" in (failed["empty.md"] or "")
    # The readable ones are searchable still.
    assert app.documents.search("yeast", mode="keyword")


def test_a_word_document_keeps_its_heading(app: Lantern, tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Harvest", level=1)
    document.add_paragraph("Apples are picked when the seeds inside have turned brown.")
    path = tmp_path / "orchard.docx"
    document.save(str(path))
    app.documents.add([path], "Orchard")
    index(app)
    [found] = app.documents.search("when is fruit ripe", libraries=["Orchard"], limit=1)
    assert found.heading == "Harvest"


def test_a_folder_of_two_thousand_files_is_indexed_whole(app: Lantern, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    for shelf in range(20):
        (folder / f"shelf{shelf:02}").mkdir(parents=True)
        for n in range(100):
            number = shelf * 100 + n
            (folder / f"shelf{shelf:02}" / f"note{number:04}.txt").write_text(
                f"Note {number}: parcel {number} waits on shelf {shelf} for its owner.\n"
            )
    (folder / "shelf07" / "note0742.txt").write_text("The violin case is under the stairs.\n")
    report = app.documents.add([folder], "Many")
    assert report.queued == 2000
    events = index(app)
    assert events[-1].files_done == 2000
    [library] = app.documents.libraries()
    assert (library.counts.indexed, library.counts.passages) == (2000, 2000)
    [found, *_] = app.documents.search("where is the musical instrument", limit=3)
    assert found.path.endswith("note0742.txt")


def test_pause_holds_the_run_and_cancel_keeps_the_queue(app: Lantern, folder: Path) -> None:
    for n in range(6):
        (folder / f"extra{n}.txt").write_text(f"Extra note {n} about the harbour.\n")
    app.documents.add([folder])
    run = app.documents.index()
    events = iter(run)
    first = next(events)
    assert first.state == "running"
    run.pause()
    paused = next(events)  # the file under way is finished first
    while paused.state != "paused":
        paused = next(events)
    run.cancel()
    rest = list(events)
    assert run.outcome is not None and run.outcome.status == "cancelled"
    assert rest[-1].files_done < 9
    [library] = app.documents.libraries()
    assert library.counts.queued == 9 - library.counts.indexed > 0
    index(app)  # the next run takes up the rest
    [library] = app.documents.libraries()
    assert (library.counts.indexed, library.counts.queued) == (9, 0)


def test_a_watched_folder_reports_a_new_file(app: Lantern, folder: Path) -> None:
    app.documents.add([folder])
    index(app)
    changed = threading.Event()
    watcher = app.documents.watch(changed.set)
    try:
        (folder / "sea" / "tides.txt").write_text(
            "High water comes twice a day, about an hour later each day.\n"
        )
        assert changed.wait(30)
    finally:
        watcher.close()
    assert app.documents.scan().queued == 1


def test_adding_what_does_not_exist_records_nothing(app: Lantern, tmp_path: Path) -> None:
    with pytest.raises(LanternError, match="does not exist"):
        app.documents.add([tmp_path / "nowhere"], "Ghosts")
    assert app.documents.libraries() == []
