"""The main window: a frame around the pages. A rail of pages (Chat, Models, Summarize,
Translate, Playground, Documents, Server) beside the page shown, the menus, the status bar
(with the loaded models, widgets/engine_status.py), and closing.

Each page is a Page (page.py) in a sub-package of its own (`chat/page.py`, `models/page.py`,
...): made with the Lantern and the window's BackgroundTasks, `start()`ed once the window is
built, given the models (installed, then the remotes') by `set_models()`, and `shutdown()`
when it closes. A page runs its long job (a chat turn, a summary) as a service run in a
PageRun (ui/runs.py), and its reads and writes on the window's pool through BackgroundTasks
(ui/bridge.py). The window only routes: the models it reads go to every page, the menus call
the pages, and the status bar speaks for the page shown.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QThreadPool
from PySide6.QtGui import QActionGroup, QCloseEvent, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QMenu, QStackedWidget, QWidget

from desktop import APP_NAME
from desktop.paths import resources_dir
from desktop.ui.appearance import THEME_NAMES, AppearanceChoice
from desktop.ui.bridge import BackgroundTasks
from desktop.ui.chat.page import ChatPage
from desktop.ui.documents.page import DocumentsPage
from desktop.ui.error_text import error_text
from desktop.ui.heap import freeze_startup_heap
from desktop.ui.models.page import ModelsPage
from desktop.ui.page import Page
from desktop.ui.playground.page import PlaygroundPage
from desktop.ui.runs import PageRun
from desktop.ui.server.page import ServerPage
from desktop.ui.summarize.page import SummarizePage
from desktop.ui.translate.page import TranslatePage
from desktop.ui.widgets.engine_status import EngineStatus
from desktop.ui.widgets.navigation_rail import NavigationRail

if TYPE_CHECKING:
    from PySide6.QtGui import QAction

    from desktop.services.app import Lantern
    from desktop.services.models import ModelOption

# The rail's order, which gives each page its Ctrl+number and its icon (resources/icons/).
# Models keeps Ctrl+2, as before the writing pages came.
PAGE_NAMES = ("Chat", "Models", "Summarize", "Translate", "Playground", "Documents", "Server")
(
    CHAT_PAGE,
    MODELS_PAGE,
    SUMMARIZE_PAGE,
    TRANSLATE_PAGE,
    PLAYGROUND_PAGE,
    DOCUMENTS_PAGE,
    SERVER_PAGE,
) = range(len(PAGE_NAMES))


class MainWindow(QMainWindow):
    def __init__(self, lantern: Lantern, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lantern = lantern
        self._closed = False
        self._chat_status = ""  # the Chat page's status line, shown again on return to it
        # One pool per window (Orange3's habit), so closing the window can wait for its reads.
        # Four threads: a slow Hub read on the Models page must not hold up the chat's reads.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(4)
        self._tasks = BackgroundTasks(self._pool)
        self.appearance = AppearanceChoice(lantern, self._tasks, self)
        self.appearance.failed.connect(self._show_error)

        self.setWindowTitle(APP_NAME)
        self.resize(1000, 680)
        self._build()
        self.statusBar().showMessage("Reading your models and conversations…")
        self._tasks.run(self._read_models, self._show_start, self._show_error)
        self.appearance.start()
        self.engine_status.start()
        for page in self.pages:
            page.start()

    # ---- layout ----

    def _build(self) -> None:
        self.chat_page = ChatPage(self._lantern, self._tasks)
        self.chat_page.status_changed.connect(self._chat_says)
        self.chat_page.reply.connect(self._show_status)
        self.chat_page.model_catalog_wanted.connect(self.show_model_catalog)

        self.models_page = ModelsPage(self._lantern, self._tasks)
        self.models_page.use_for_chat.connect(self.use_model)
        self.models_page.models_changed.connect(self.reload_models)

        self.summarize_page = SummarizePage(self._lantern, self._tasks)
        self.translate_page = TranslatePage(self._lantern, self._tasks)
        self.playground_page = PlaygroundPage(self._lantern, self._tasks)
        self.playground_page.runs_ended.connect(self._playground_ran)
        # Indexes what is queued at start and what the watched folders change (its start()).
        self.documents_page = DocumentsPage(self._lantern, self._tasks)
        # The local API; serves from the start when the user asked for that (its start()).
        self.server_page = ServerPage(self._lantern, self._tasks)

        self.pages: list[Page] = [
            self.chat_page,  # CHAT_PAGE
            self.models_page,  # MODELS_PAGE
            self.summarize_page,  # SUMMARIZE_PAGE
            self.translate_page,  # TRANSLATE_PAGE
            self.playground_page,  # PLAYGROUND_PAGE
            self.documents_page,  # DOCUMENTS_PAGE
            self.server_page,  # SERVER_PAGE
        ]
        self.rail = NavigationRail()
        self.sections = QStackedWidget()
        icons = resources_dir() / "icons"
        buttons = []
        for number, (page, name) in enumerate(zip(self.pages, PAGE_NAMES, strict=True), start=1):
            icon = QIcon(str(icons / f"{name.lower()}.svg"))
            buttons.append(self.rail.add_page(name, icon, f"Ctrl+{number}"))
            self.sections.addWidget(page)
            QShortcut(QKeySequence(f"Ctrl+{number}"), self, partial(self.show_page, number - 1))
        (
            self.chat_button,
            self.models_button,
            self.summarize_button,
            self.translate_button,
            self.playground_button,
            self.documents_button,
            self.server_button,
        ) = buttons
        self.rail.page_chosen.connect(self.show_page)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.rail)
        row.addWidget(self.sections, 1)
        self.setCentralWidget(central)
        self.rail.set_current(CHAT_PAGE)
        self.engine_status = EngineStatus(self._lantern, self._tasks)
        self.statusBar().addPermanentWidget(self.engine_status)
        self._build_menus()

    def _build_menus(self) -> None:
        def action(menu: QMenu, text: str, slot: Callable[[], Any], *keys: Any) -> QAction:
            item = menu.addAction(text)
            item.triggered.connect(lambda _checked=False: slot())  # never `checked` as an id
            item.setShortcuts([QKeySequence(key) for key in keys])
            return item

        chat = self.chat_page
        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "&Import conversation…", chat.import_conversation, "Ctrl+O")
        file_menu.addAction(chat.export_action)
        file_menu.addSeparator()
        action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit, "Ctrl+Q")

        chat_menu = self.menuBar().addMenu("&Chat")
        action(chat_menu, "&New chat", self.new_chat, "Ctrl+N")
        action(chat_menu, "&Search conversations", self.search_conversations, "Ctrl+K")
        chat_menu.addAction(chat.parameters_action)
        action(chat_menu, "S&top the answer", chat.stop)  # Esc, the page's own shortcut

        view_menu = self.menuBar().addMenu("&View")
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_actions = QActionGroup(self)
        for theme, name in THEME_NAMES.items():
            item = action(theme_menu, name, partial(self.appearance.set_theme, theme))
            item.setCheckable(True)
            item.setData(theme)
            self.theme_actions.addAction(item)
        self.appearance.theme_changed.connect(self._check_theme)
        view_menu.addSeparator()
        size = self.appearance
        action(view_menu, "&Larger text", lambda: size.step_font_size(1), "Ctrl++", "Ctrl+=")
        action(view_menu, "&Smaller text", lambda: size.step_font_size(-1), "Ctrl+-")
        action(view_menu, "&Default text size", lambda: size.set_font_size(None), "Ctrl+0")

    def _check_theme(self, theme: str) -> None:
        for item in self.theme_actions.actions():
            item.setChecked(item.data() == theme)

    # ---- pages ----

    def show_page(self, index: int) -> None:
        if self.sections.currentIndex() == index:
            return
        if self.sections.currentIndex() == CHAT_PAGE:
            self._chat_status = self.statusBar().currentMessage()
        self.sections.setCurrentIndex(index)
        self.rail.set_current(index)
        self._show_status_of(index)
        if index == CHAT_PAGE:
            if not self.chat_page.has_models():
                self.reload_models()  # one may have been added from the command line
            self.chat_page.focus_input()

    def _show_status_of(self, page: int) -> None:
        """The status bar speaks for the page shown: the chat's last line on the Chat page,
        the last run's figures on the Playground (none before a run has ended there)."""
        message = {CHAT_PAGE: self._chat_status, PLAYGROUND_PAGE: self.playground_page.figures()}
        self._show_status(message.get(page, ""))

    def _show_status(self, message: str) -> None:
        if message:
            self.statusBar().showMessage(message)
        else:
            self.statusBar().clearMessage()

    def _chat_says(self, message: str) -> None:
        """A line of the chat's (a turn's figures): shown now on the Chat page, else on return."""
        self._chat_status = message
        if self.sections.currentIndex() == CHAT_PAGE:
            self._show_status(message)

    def _playground_ran(self) -> None:
        if self.sections.currentIndex() == PLAYGROUND_PAGE:
            self._show_status_of(PLAYGROUND_PAGE)

    def show_model_catalog(self) -> None:
        self.models_page.show_catalog()
        self.show_page(MODELS_PAGE)

    def new_chat(self) -> None:
        self.show_page(CHAT_PAGE)
        self.chat_page.new_chat()

    def search_conversations(self) -> None:
        """Ctrl+K: the cursor in the sidebar's search field, on the Chat page."""
        self.show_page(CHAT_PAGE)
        self.chat_page.search_conversations()

    def use_model(self, model_id: str) -> None:
        """Chat with `model_id`: the Chat page, with the model selected in the picker (once the
        picker lists it: a model that has just been installed is read again first)."""
        self.show_page(CHAT_PAGE)
        if not self.chat_page.use_model(model_id):
            self.reload_models()

    # ---- the models (installed, and the remotes'), for every page ----

    def _read_models(self) -> tuple[list[ModelOption], str | None]:
        models = self._lantern.models.options()  # the remotes' as last tested: no network
        return models, (self._lantern.models.default_model_id() if models else None)

    def _show_start(self, result: tuple[list[ModelOption], str | None]) -> None:
        self._show_models(result)
        if self.chat_page.has_models():
            self.statusBar().showMessage("Ready.", 3000)
        freeze_startup_heap()  # the app has started: its objects stay to the end

    def reload_models(self) -> None:
        self._tasks.run(self._read_models, self._show_models, self._show_error)

    def _show_models(self, result: tuple[list[ModelOption], str | None]) -> None:
        models, default = result
        for page in self.pages:
            page.set_models(models, default)
        self._show_status("" if models else "No model installed.")

    def _show_error(self, error: BaseException) -> None:
        self.statusBar().showMessage(error_text(error))

    # ---- closing ----

    def shutdown(self) -> None:
        """Stop every page's run and wait for every worker: no thread outlives the window."""
        if self._closed:
            return
        self._closed = True
        self.engine_status.stop()
        self._tasks.close()
        # Every run is asked to stop before any is waited for: one may be waiting for the
        # model another holds.
        for run in self.findChildren(PageRun):
            run.cancel()
        for page in self.pages:
            page.shutdown()  # a run ends at its next token, or as soon as its wait is cancelled
        self._pool.clear()  # reads not started yet (a Hub lookup can take seconds) are dropped
        self._pool.waitForDone()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
