"""The Documents page: the user's libraries (named collections of files and folders), the
files of the one selected with how their indexing went, the indexing's progress with Pause
and Cancel, and a search of the library that lists the passages found.

Every read and write goes through the window's BackgroundTasks (DocumentService calls the
database, the disk and the engine; the search box is library_search.py, the embedder's
install embedder_notice.py), and the indexing runs in a PageRun (indexing.py):
nothing here blocks the GUI thread. While indexing, the file being read and the one just
done are marked from the run's progress, the library is read again at most once a second,
and only the rows that changed are repainted (files_table.py), so a library of thousands of
files stays responsive.

Indexing starts by itself: at start when files are queued (a run cut short by a crash or a
close goes on), after files are added, and after the watched folders changed (folder_watch.py;
a scan, then the index). Without an embedding model the page says so, with a button that
installs the offline one.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import EmbedderMissing, LibraryNotFound
from desktop.services.documents import DEFAULT_LIBRARY, LibraryOverview, ScanReport
from desktop.services.indexing import IndexOutcome, IndexProgress
from desktop.store.documents import FileRecord
from desktop.ui.documents.embedder_notice import EmbedderNotice
from desktop.ui.documents.files_table import FilesTable
from desktop.ui.documents.folder_watch import FolderWatch
from desktop.ui.documents.indexing import LibraryIndexing
from desktop.ui.documents.library_list import LibraryList
from desktop.ui.documents.library_search import LibrarySearch
from desktop.ui.documents.progress_line import ProgressLine
from desktop.ui.page import Page
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.panes import panes
from desktop.ui.widgets.throttle import Throttle

if TYPE_CHECKING:
    from desktop.models.installed import InstalledModel
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks

# While indexing, the libraries and the files of the one shown are read again at most once
# a second (for the errors of the files that failed, and the files a coalesced progress
# skipped); the file being read and the one just done are marked from the progress itself.
READ_MS = 1000
DOCUMENT_FILTER = (
    "Documents (*.txt *.md *.markdown *.pdf *.docx *.html *.htm *.rst *.csv *.json *.py);;"
    "All files (*)"
)


def added_words(report: ScanReport) -> str:
    """'3 files queued for indexing.' and what could not be taken, one reason a line."""
    line = f"{report.queued:,} file{'' if report.queued == 1 else 's'} queued for indexing."
    if not report.queued:
        line = "Nothing new to index."
    return "\n".join([line, *report.refused])


def outcome_words(outcome: IndexOutcome) -> str:
    files = f"{outcome.files_done:,} file{'' if outcome.files_done == 1 else 's'}"
    passages = f"{outcome.passages:,} passage{'' if outcome.passages == 1 else 's'}"
    failed = (
        f" {outcome.failed:,} could not be indexed: the table says why." if outcome.failed else ""
    )
    if outcome.status == "cancelled":
        return f"Indexing cancelled after {files} ({passages}); the rest stays queued.{failed}"
    return f"Indexed {files} ({passages}).{failed}"


class DocumentsPage(Page):
    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self._closed = False
        self._library: str | None = None  # the library shown
        self._libraries: dict[str, LibraryOverview] = {}
        self._files_of: str | None = None  # the library the table holds
        self._files_reading = False
        self._files_again = False  # read once more when the read going ends
        self._last_progress: IndexProgress | None = None  # the run's last event shown
        self._libraries_serial = 0
        self._select: str | None = None  # the library to select once the libraries are read
        self._removal: str | None = None  # the library to remove once the run has ended
        self._indexing = LibraryIndexing(lantern, self)
        self._watch = FolderWatch(lantern, tasks, self)
        self._read_later = Throttle(self.refresh_libraries, READ_MS, parent=self)
        self._build()
        self._connect()
        self._update_actions()

    # ---- layout ----

    def _build(self) -> None:
        self.libraries = LibraryList()

        self.title = QLabel()
        self.add_files_button = QPushButton("Add files…")
        self.add_files_button.setAccessibleName("Add files")
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setAccessibleName("Add folder")
        self.add_folder_button.setToolTip("The folder is watched: files added, changed or removed "
                                          "there are noticed")  # fmt: skip
        self.index_button = QPushButton("Index queued files")
        self.index_button.setAccessibleName("Index queued files")
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.title, 1)
        actions.addWidget(self.index_button)
        actions.addWidget(self.add_files_button)
        actions.addWidget(self.add_folder_button)

        self.embedder_notice = EmbedderNotice(self._lantern, self._tasks)
        self.files = FilesTable()
        self.progress_line = ProgressLine()
        self.notice = Notice()  # what was added, how indexing went, what failed

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.embedder_notice)
        top_layout.addLayout(actions)
        top_layout.addWidget(self.files, 1)
        top_layout.addWidget(self.progress_line)
        top_layout.addWidget(self.notice)

        self.library_search = LibrarySearch(self._lantern, self._tasks)

        work = panes([top, self.library_search], stretch=[3, 2], sizes=[420, 280], vertical=True)
        main = panes([self.libraries, work], stretch=[0, 1], sizes=[240, 760])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(main)

    def _connect(self) -> None:
        self.libraries.chosen.connect(self._library_chosen)
        self.libraries.new_button.clicked.connect(lambda _checked=False: self.new_library())
        self.libraries.remove_button.clicked.connect(lambda _checked=False: self.remove_library())
        self.add_files_button.clicked.connect(lambda _checked=False: self.add_files())
        self.add_folder_button.clicked.connect(lambda _checked=False: self.add_folder())
        self.index_button.clicked.connect(lambda _checked=False: self._indexing.index_queued())
        line = self.progress_line
        line.pause_button.clicked.connect(lambda _checked=False: self.toggle_pause())
        line.cancel_button.clicked.connect(lambda _checked=False: self._indexing.cancel())
        self.embedder_notice.installed.connect(self._embedder_installed)
        self.library_search.embedder_missing.connect(self.embedder_notice.show_missing)
        self._indexing.progress.connect(self._on_progress)
        self._indexing.finished.connect(self._on_finished)
        self._indexing.failed.connect(self._on_failed)
        self._indexing.ended.connect(self._run_ended)
        self._watch.changed.connect(self._folders_changed)
        self._watch.failed.connect(self.notice.show_error)

    # ---- what the window calls ----

    def start(self) -> None:
        """Read the libraries, watch their folders, and index what is queued (what a run
        that was cut short left)."""
        self._watch.renew()
        self._tasks.run(self._read_start, self._started, self.notice.show_error)

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._read_later.cancel()
        self._watch.close()
        self._indexing.shutdown()

    def is_indexing(self) -> bool:
        return self._indexing.running()

    # ---- libraries ----

    def _read_start(self) -> tuple[list[LibraryOverview], EmbedderMissing | None]:
        documents = self._lantern.documents
        try:
            documents.embedder()
        except EmbedderMissing as missing:
            return documents.libraries(), missing
        return documents.libraries(), None

    def _started(self, result: tuple[list[LibraryOverview], EmbedderMissing | None]) -> None:
        libraries, missing = result
        self._show_libraries(libraries)
        if missing is not None:
            self.embedder_notice.show_missing(missing)
        elif any(library.counts.queued for library in libraries):
            self._indexing.index_queued()

    def refresh_libraries(self, select: str | None = None) -> None:
        """Read the libraries; `select` one of them once shown (kept over newer reads)."""
        self._libraries_serial += 1
        serial = self._libraries_serial
        self._select = select or self._select
        lantern = self._lantern  # its parts are built on first use: in the task
        self._tasks.run(
            lambda: lantern.documents.libraries(),
            lambda libraries: self._libraries_read(serial, libraries),
            self.notice.show_error,
        )

    def _libraries_read(self, serial: int, libraries: list[LibraryOverview]) -> None:
        if serial == self._libraries_serial:  # else a newer read is on its way
            select, self._select = self._select, None
            self._show_libraries(libraries, select)

    def _show_libraries(
        self, libraries: Sequence[LibraryOverview], select: str | None = None
    ) -> None:
        self._libraries = {library.name: library for library in libraries}
        self.libraries.show_libraries(libraries, select)  # `chosen` when the selection moved
        if self.libraries.selected() == self._library:
            self._show_title()
            self.refresh_files()
        self._update_actions()

    def _library_chosen(self, name: str | None) -> None:
        self._library = name
        self.library_search.set_library(name)
        self._show_title()
        self.refresh_files()
        self._update_actions()

    def _show_title(self) -> None:
        library = self._libraries.get(self._library or "")
        if library is None:
            self.title.setText(
                f"<b>{DEFAULT_LIBRARY}</b>: add files or a folder to search them and ask them "
                "questions in the chat."
            )
            return
        files, (indexed, passages) = (
            library.counts.files,
            (library.counts.indexed, library.counts.passages),
        )
        if self._files_of == library.name:  # the table is newer while indexing
            files, (indexed, passages) = self.files.files.rowCount(), self.files.files.indexed()
        self.title.setText(
            f"<b>{html.escape(library.name)}</b> · {indexed:,} of {files:,} files indexed · "
            f"{passages:,} passages"
        )

    def new_library(self) -> None:
        name, ok = QInputDialog.getText(self, "New library", "Name of the new library:")
        name = " ".join(name.split())
        if not ok or not name:
            return
        if name in self._libraries:
            self.notice.show_info(f"There is a library called “{name}” already; it is selected.")
            self.libraries.show_libraries(list(self._libraries.values()), name)
            return
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.documents.create_library(name),
            lambda _report: self.refresh_libraries(select=name),
            self.notice.show_error,
        )

    def remove_library(self) -> None:
        name = self._library
        if name is None:
            return
        yes, cancel = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.Cancel
        question = (
            f"Remove the library “{name}”? Its index is deleted and it leaves the chats that "
            "use it; your files themselves are not touched."
        )
        if QMessageBox.question(self, "Remove library", question, yes | cancel, cancel) != yes:
            return
        if self._indexing.running():
            # Its files may be being saved: the run ends first (the rest stays queued).
            self._removal = name
            self.notice.show_info(f"Stopping the indexing to remove “{name}”…")
            self._indexing.cancel()
            return
        self._remove(name)

    def _remove(self, name: str) -> None:
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.documents.remove_library(name),
            lambda _none: self._library_removed(name),
            self.notice.show_error,
        )

    def _library_removed(self, name: str) -> None:
        self.notice.show_info(f"Removed the library “{name}”.")
        self.refresh_libraries()
        self._watch.renew()
        if any(o.counts.queued for o in self._libraries.values() if o.name != name):
            self._indexing.index_queued()  # the other libraries' files, cancelled for it

    # ---- adding files ----

    def add_files(self) -> None:
        paths, _filter = QFileDialog.getOpenFileNames(
            self, "Add files to the library", str(Path.home()), DOCUMENT_FILTER
        )
        if paths:
            self.add_paths([Path(path) for path in paths])

    def add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Add a folder to the library", str(Path.home())
        )
        if folder:
            self.add_paths([Path(folder)])

    def add_paths(self, paths: Sequence[Path]) -> None:
        """Add `paths` to the library shown (or to the default one, made if need be)."""
        library = self._library or DEFAULT_LIBRARY
        self.notice.show_info(f"Adding to “{library}”…")
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.documents.add(list(paths), library),
            lambda report: self._added(library, report),
            self.notice.show_error,
        )

    def _added(self, library: str, report: ScanReport) -> None:
        self.notice.show_info(added_words(report))
        self.refresh_libraries(select=library)
        self._watch.renew()
        if report.queued:
            self._indexing.index_queued()

    def _folders_changed(self) -> None:
        """Files changed in a watched folder: see what (a scan), then index it."""
        lantern = self._lantern
        self._tasks.run(lambda: lantern.documents.scan(), self._scanned, self.notice.show_error)

    def _scanned(self, report: ScanReport) -> None:
        if report.changed:
            self.refresh_libraries()
            self._indexing.index_queued()

    # ---- the files of the library shown ----

    def refresh_files(self) -> None:
        """Read the files of the library shown; one read at a time, the latest wins."""
        if self._files_reading:
            self._files_again = True
            return
        name = self._library
        if name is None:
            self._files_of = None
            self.files.files.set_files([], {})
            return
        self._files_reading = True
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.documents.files(name),
            lambda files: self._show_files(name, files),
            self._files_failed,
        )

    def _show_files(self, name: str, files: list[FileRecord]) -> None:
        self._files_reading = False
        if name == self._library:
            library = self._libraries.get(name)
            sources = library.sources if library is not None else ()
            folders = {source.id: source.path for source in sources if source.is_folder}
            if name == self._files_of:
                self.files.files.update_files(files, folders)
            else:
                self.files.files.set_files(files, folders)
                self._files_of = name
            self._show_title()
        self._read_files_again()

    def _files_failed(self, error: BaseException) -> None:
        self._files_reading = False
        if isinstance(error, LibraryNotFound):  # removed meanwhile (here, or by `lantern docs`)
            self.refresh_libraries()
        else:
            self.notice.show_error(error)
        self._read_files_again()

    def _read_files_again(self) -> None:
        if self._files_again and not self._closed:
            self._files_again = False
            self.refresh_files()

    # ---- indexing ----

    def toggle_pause(self) -> None:
        if self._indexing.paused():
            self._indexing.resume()
        else:
            self._indexing.pause()

    def _on_progress(self, progress: IndexProgress) -> None:
        self.progress_line.show_progress(progress, pause_asked=self._indexing.paused())
        before, self._last_progress = self._last_progress, progress
        if before is not None and before.current and progress.files_done == before.files_done + 1:
            failed = progress.failed > before.failed  # its error comes with the next read
            added = progress.passages - before.passages  # none: unchanged, it keeps its own
            passages = None if failed or not added else added
            self.files.files.mark(before.current, "failed" if failed else "indexed", passages)
        if progress.current:
            self.files.files.mark(progress.current, "indexing")
        self._show_title()
        if before is None or progress.files_done != before.files_done:
            self._read_later.request()
        self._update_actions()

    def _on_finished(self, outcome: IndexOutcome) -> None:
        # A run that found nothing left to index (the files came to the run before it) has
        # nothing to say, and must not hide what that run said.
        if outcome.files_done or outcome.status != "complete":
            self.notice.show_info(outcome_words(outcome))

    def _on_failed(self, error: BaseException) -> None:
        if isinstance(error, EmbedderMissing):
            self.embedder_notice.show_missing(error)
        else:
            self.notice.show_error(error)

    def _run_ended(self) -> None:
        self._last_progress = None
        self._read_later.cancel()
        if not self._indexing.running():  # another run may have started for new files
            self.progress_line.hide()
        self.refresh_libraries()  # the counts, and the files' last statuses
        self._update_actions()
        if self._removal is not None:
            name, self._removal = self._removal, None
            self._remove(name)

    # ---- the embedding model ----

    def _embedder_installed(self, model: InstalledModel) -> None:
        self.notice.show_info(f"Installed the embedding model {model.id}.")
        if any(library.counts.queued for library in self._libraries.values()):
            self._indexing.index_queued()

    # ---- actions ----

    def _update_actions(self) -> None:
        running = self._indexing.running()
        queued = any(library.counts.queued for library in self._libraries.values())
        self.index_button.setVisible(queued and not running)
