"""The Models page: Catalog, Search, Installed, Downloads and Remote tabs, and the Hub token.

The page wires its views together (a finished download refreshes Installed, a download asked
for in the Catalog shows under Downloads) and tells the window when the installed models
change or one should be used for chat. Every read goes through the window's BackgroundTasks;
download news comes from the queue's worker through DownloadSignals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from desktop.models.installed import InstalledModel
from desktop.ui.models.catalog_view import CatalogView
from desktop.ui.models.download_signals import DownloadSignals
from desktop.ui.models.downloads_view import DownloadsView
from desktop.ui.models.hub_token_button import HubTokenButton
from desktop.ui.models.installed_view import InstalledView
from desktop.ui.models.remote_view import RemoteView
from desktop.ui.models.search_view import SearchView
from desktop.ui.page import Page
from desktop.ui.widgets.notice import Notice

if TYPE_CHECKING:
    from desktop.models.repo_files import ModelFiles
    from desktop.services.app import Lantern
    from desktop.store.downloads import DownloadRecord
    from desktop.ui.bridge import BackgroundTasks


class ModelsPage(Page):
    use_for_chat = Signal(str)  # model id (a remote's: NAME:MODEL)
    models_changed = Signal()  # installed, imported or deleted; a remote added or removed

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self._signals = DownloadSignals()  # no parent: see its docstring
        self._started = False

        self.catalog = CatalogView(lantern, tasks)
        self.search = SearchView(lantern, tasks)
        self.installed = InstalledView(lantern, tasks)
        self.downloads = DownloadsView(lantern, tasks)
        self.remote = RemoteView(lantern, tasks)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.catalog, "&Catalog")
        self.tabs.addTab(self.search, "&Search")
        self.tabs.addTab(self.installed, "&Installed")
        self.tabs.addTab(self.downloads, "&Downloads")
        self.tabs.addTab(self.remote, "&Remote")
        for view in (self.catalog, self.search, self.installed, self.downloads, self.remote):
            layout = view.layout()
            assert layout is not None  # each view lays itself out in its constructor
            layout.setContentsMargins(10, 10, 10, 10)
        self.token_button = HubTokenButton(tasks)
        self.tabs.setCornerWidget(self.token_button, Qt.Corner.TopRightCorner)
        self.notice = Notice()
        self.token_button.message.connect(self._show_message)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 8, 4)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.notice)

        self.catalog.download_requested.connect(self._queue_catalog_model)
        for files in (self.catalog.files, self.search.files):
            files.download_requested.connect(
                lambda repo, revision, chosen, files=files: self._queue_files(
                    files.fit_line, repo, revision, chosen
                )
            )
            files.use_requested.connect(self.use_for_chat)
        self.installed.use_requested.connect(self.use_for_chat)
        self.installed.models_changed.connect(self._installed_changed)
        self.downloads.use_requested.connect(self.use_for_chat)
        self.downloads.model_installed.connect(self._downloaded)
        self.remote.remotes_changed.connect(self.models_changed)  # their models come or go
        self.remote.use_requested.connect(self.use_for_chat)
        self._signals.changed.connect(self.downloads.on_news, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        """Start the download queue (it resumes what a previous run left unfinished) and
        list the downloads. Once, when the window opens; all of it in the background."""
        if self._started:
            return
        self._started = True
        lantern, listener = self._lantern, self._signals.listener

        def start_queue() -> list[DownloadRecord]:
            queue = lantern.downloads  # opens the database: never on the GUI thread
            queue.subscribe(listener)
            queue.start()
            return queue.list()

        self._tasks.run(start_queue, self.downloads.show_list, self._show_error)

    def shutdown(self) -> None:
        """The window is closing: download news is no longer wanted."""
        self._signals.detach()

    def show_catalog(self) -> None:
        self.tabs.setCurrentWidget(self.catalog)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.catalog.load()
        self.installed.refresh()  # a model may have come from the command line meanwhile

    # ---- downloads asked for in the catalog or search ----

    def _queue_catalog_model(self, entry_id: str, quant: str) -> None:
        lantern = self._lantern

        def queue() -> DownloadRecord | InstalledModel:
            repo, revision, chosen = lantern.downloads.choose_files(entry_id, quant=quant)
            return lantern.downloads.installed(repo, chosen) or lantern.downloads.enqueue(
                repo, revision, chosen
            )

        notice = self.catalog.notice
        self._tasks.run(queue, lambda result: self._queued(notice, result), notice.show_error)

    def _queue_files(self, notice: Notice, repo: str, revision: str, chosen: ModelFiles) -> None:
        lantern = self._lantern
        notice.show_info(f"Preparing the download of {chosen.name}…")

        def queue() -> DownloadRecord | InstalledModel:
            downloads = lantern.downloads
            return downloads.installed(repo, chosen) or downloads.enqueue(repo, revision, chosen)

        self._tasks.run(queue, lambda result: self._queued(notice, result), notice.show_error)

    def _queued(self, notice: Notice, result: DownloadRecord | InstalledModel) -> None:
        if isinstance(result, InstalledModel):
            notice.show_info(f"Already installed as {result.id}.")
            return
        notice.show_info(f"{result.name} is queued: see Downloads.")
        self.tabs.setCurrentWidget(self.downloads)

    # ---- installed models changed ----

    def _downloaded(self, model_id: str) -> None:
        self.installed.refresh(select=model_id)
        self._installed_changed()

    def _installed_changed(self) -> None:
        self.catalog.files.recheck_installed()
        self.search.files.recheck_installed()
        self.models_changed.emit()

    def _show_message(self, message: str, is_error: bool) -> None:
        if is_error:
            self.notice.show_error(message)
        else:
            self.notice.show_info(message)

    def _show_error(self, error: BaseException) -> None:
        self.notice.show_error(error)
