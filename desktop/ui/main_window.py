"""The main window: a rail of pages (Chat, Models, Summarize, Translate, Playground) beside
the page shown, and a status bar.
The chat page is the window's own: model picker, conversation sidebar, chat view, message input.

The window only arranges widgets and routes signals; every read and write goes through the
services, off the GUI thread (bridge.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from PySide6.QtCore import QEvent, Qt, QThread, QThreadPool, QUrl
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QIcon,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.paths import resources_dir
from desktop.services.chat import ConversationParameters
from desktop.services.history import ExportFormat
from desktop.settings import FONT_SIZES, THEMES, Settings
from desktop.ui.appearance import appearance
from desktop.ui.bridge import BackgroundTasks, ChatRun, TurnStart, chat_thread
from desktop.ui.chat.context_meter import ContextMeter
from desktop.ui.chat.conversation_settings import ConversationSettingsDialog
from desktop.ui.chat.sidebar import ConversationSidebar
from desktop.ui.chat.view import ChatView
from desktop.ui.error_text import error_text
from desktop.ui.models.formatting import stats_line
from desktop.ui.models.page import ModelsPage
from desktop.ui.playground.page import PlaygroundPage
from desktop.ui.summarize.page import SummarizePage
from desktop.ui.translate.page import TranslatePage
from desktop.ui.widgets.empty_state import EmptyState
from desktop.ui.widgets.message_input import MessageInput
from desktop.ui.widgets.model_picker import ModelPicker
from desktop.ui.widgets.navigation_rail import NavigationRail

if TYPE_CHECKING:
    from desktop.models.installed import InstalledModel
    from desktop.services.app import Lantern
    from desktop.services.chat import ChatTurn, TurnOutcome
    from desktop.store.repositories import ConversationRecord, MessageRecord

NO_MODEL_BODY = (
    "Lantern needs a language model to chat with. Download one from the catalog (the small "
    "starter model takes a minute), or import a GGUF file you already have."
)
# Models keeps Ctrl+2, as before the writing pages came.
CHAT_PAGE, MODELS_PAGE, SUMMARIZE_PAGE, TRANSLATE_PAGE, PLAYGROUND_PAGE = 0, 1, 2, 3, 4
# The export formats, as the save dialog offers them (the first is the default).
EXPORT_FILTERS: dict[str, ExportFormat] = {
    "Markdown (*.md)": "md",
    "Lantern JSON, every branch (*.json)": "json",
    "Web page (*.html)": "html",
}
IMPORT_FILTER = "Conversations (*.json);;All files (*)"
THEME_NAMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
# The window shown before any answer says the real one (answers store the window they had).
DEFAULT_CONTEXT_WINDOW = Settings().context_length


class MainWindow(QMainWindow):
    def __init__(self, lantern: Lantern, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lantern = lantern
        self._conversation_id: int | None = None
        self._has_models = False
        self._loading = False  # a conversation is on its way to the view
        self._load_serial = 0  # only the latest conversation load may fill the view
        self._run: ChatRun | None = None
        self._thread: QThread | None = None
        self._sent_text = ""
        self._answer_open = False
        self._closed = False
        self._wanted_model: str | None = None  # to select in the picker once it lists it
        self._theme = "system"
        self._font_size: int | None = None  # points; None: the desktop's
        self._look_chosen = False  # the user picked a theme or size in this window
        self._unsaved: dict[str, Any] = {}  # settings changed here, not yet written
        self._saving = False
        self._chat_status = ""  # the Chat page's status line, shown again on return to it
        # What the next new conversation starts with (chosen before its first message).
        self._new_chat_parameters = ConversationParameters()
        # One pool per window (Orange3's habit), so closing the window can wait for its reads.
        # Four threads: a slow Hub read on the Models page must not hold up the chat's reads.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(4)
        self._tasks = BackgroundTasks(self._pool)

        self.setWindowTitle(APP_NAME)
        self.resize(1000, 680)
        self._build()
        self._update_actions()
        self.statusBar().showMessage("Reading your models and conversations…")
        self._in_background(self._read_models, self._show_start)
        self._in_background(lambda: self._lantern.settings, self._show_appearance)
        self.models_page.start()
        self.summarize_page.start()
        self.translate_page.start()
        self.playground_page.start()

    # ---- layout ----

    def _build(self) -> None:
        self.sidebar = ConversationSidebar(self._lantern, self._tasks)  # reads the list itself
        self.sidebar.new_chat_requested.connect(self.new_chat)
        self.sidebar.conversation_selected.connect(self.open_conversation)
        self.sidebar.message_selected.connect(self._message_picked)
        self.sidebar.conversation_deleted.connect(self._conversation_deleted)
        self.sidebar.refreshed.connect(self._select_open_conversation)

        self.model_picker = ModelPicker()
        model_label = QLabel("&Model:")
        model_label.setBuddy(self.model_picker)
        top = QHBoxLayout()
        top.addWidget(model_label)
        top.addWidget(self.model_picker)
        self.parameters_button = QPushButton("System prompt && parameters…")
        self.parameters_button.setAccessibleName("System prompt and parameters")
        self.parameters_button.setToolTip(
            "This conversation's system prompt, sampling and presets (Ctrl+P)"
        )
        self.parameters_button.clicked.connect(self.edit_parameters)
        top.addWidget(self.parameters_button)
        top.addStretch(1)
        self.context_meter = ContextMeter(DEFAULT_CONTEXT_WINDOW)
        top.addWidget(self.context_meter)

        self.view = ChatView()
        self.view.regenerate_requested.connect(self.regenerate)
        self.view.edit_submitted.connect(self.edit_message)
        self.view.continue_requested.connect(self.continue_answer)
        self.view.branch_requested.connect(self.switch_branch)
        self.view.link_activated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.empty_state = EmptyState("No model installed", NO_MODEL_BODY, "Get a model")
        self.empty_state.action_clicked.connect(self.show_model_catalog)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.view)
        self.pages.addWidget(self.empty_state)

        self.input = MessageInput()
        self.input.setAccessibleName("Message")
        self.input.setPlaceholderText("Write a message. Enter sends it, Shift+Enter adds a line.")
        self.input.submitted.connect(self.send)
        self.input.setTabChangesFocus(True)
        self._fit_input_height()
        self.send_button = QPushButton("Send")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the answer (Esc)")
        self.stop_button.clicked.connect(self.stop)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.input, 1)
        bottom.addLayout(buttons)

        main = QWidget()
        column = QVBoxLayout(main)
        column.setContentsMargins(0, 8, 8, 8)
        column.addLayout(top)
        column.addWidget(self.pages, 1)
        column.addLayout(bottom)

        splitter = QSplitter()
        splitter.addWidget(self.sidebar)
        splitter.addWidget(main)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([240, 760])
        splitter.setChildrenCollapsible(False)
        self.chat_page = splitter

        self.models_page = ModelsPage(self._lantern, self._tasks)
        self.models_page.use_for_chat.connect(self.use_model)
        self.models_page.models_changed.connect(self.reload_models)

        self.summarize_page = SummarizePage(self._lantern, self._tasks)
        self.translate_page = TranslatePage(self._lantern, self._tasks)
        self.playground_page = PlaygroundPage(self._lantern, self._tasks)
        self.playground_page.runs_ended.connect(self._playground_ran)

        icons = resources_dir() / "icons"
        self.rail = NavigationRail()
        self.chat_button = self.rail.add_page("Chat", QIcon(str(icons / "chat.svg")), "Ctrl+1")
        self.models_button = self.rail.add_page(
            "Models", QIcon(str(icons / "models.svg")), "Ctrl+2"
        )
        self.summarize_button = self.rail.add_page(
            "Summarize", QIcon(str(icons / "summarize.svg")), "Ctrl+3"
        )
        self.translate_button = self.rail.add_page(
            "Translate", QIcon(str(icons / "translate.svg")), "Ctrl+4"
        )
        self.playground_button = self.rail.add_page(
            "Playground", QIcon(str(icons / "playground.svg")), "Ctrl+5"
        )
        self.rail.page_chosen.connect(self.show_page)
        self.sections = QStackedWidget()
        self.sections.addWidget(self.chat_page)  # CHAT_PAGE
        self.sections.addWidget(self.models_page)  # MODELS_PAGE
        self.sections.addWidget(self.summarize_page)  # SUMMARIZE_PAGE
        self.sections.addWidget(self.translate_page)  # TRANSLATE_PAGE
        self.sections.addWidget(self.playground_page)  # PLAYGROUND_PAGE
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.rail)
        row.addWidget(self.sections, 1)
        self.setCentralWidget(central)
        self.rail.set_current(CHAT_PAGE)

        # Esc stops the answer on the Chat page; the writing pages take it to cancel their run.
        stop = QShortcut(QKeySequence("Escape"), self.chat_page, self.stop)
        stop.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        for number, page in enumerate(
            (CHAT_PAGE, MODELS_PAGE, SUMMARIZE_PAGE, TRANSLATE_PAGE, PLAYGROUND_PAGE), start=1
        ):
            QShortcut(QKeySequence(f"Ctrl+{number}"), self, lambda p=page: self.show_page(p))
        self.sidebar.new_chat_button.setToolTip("New chat (Ctrl+N)")
        self.sidebar.search_field.setToolTip("Search all conversations (Ctrl+K)")
        self.sidebar.export_requested.connect(self.export_conversation)
        self._build_menus()

    def _build_menus(self) -> None:
        def action(menu: Any, text: str, slot: Callable[[], Any], *keys: Any) -> QAction:
            item = menu.addAction(text)
            item.triggered.connect(lambda _checked=False: slot())  # never `checked` as an id
            item.setShortcuts([QKeySequence(key) for key in keys])
            return item

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "&Import conversation…", self.import_conversation, "Ctrl+O")
        self.export_action = action(
            file_menu, "&Export conversation…", self.export_conversation, "Ctrl+E"
        )
        file_menu.addSeparator()
        action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit, "Ctrl+Q")

        chat_menu = self.menuBar().addMenu("&Chat")
        action(chat_menu, "&New chat", self.new_chat, "Ctrl+N")
        action(chat_menu, "&Search conversations", self.search_conversations, "Ctrl+K")
        self.parameters_action = action(
            chat_menu, "System &prompt and parameters…", self.edit_parameters, "Ctrl+P"
        )
        action(chat_menu, "S&top the answer", self.stop)  # Esc, from the shortcut above

        view_menu = self.menuBar().addMenu("&View")
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_actions = QActionGroup(self)
        for theme in THEMES:
            item = action(theme_menu, THEME_NAMES[theme], partial(self.set_theme, theme))
            item.setCheckable(True)
            item.setData(theme)
            self.theme_actions.addAction(item)
        view_menu.addSeparator()
        action(view_menu, "&Larger text", lambda: self.step_font_size(1), "Ctrl++", "Ctrl+=")
        action(view_menu, "&Smaller text", lambda: self.step_font_size(-1), "Ctrl+-")
        action(view_menu, "&Default text size", lambda: self.set_font_size(None), "Ctrl+0")

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
            if not self._has_models:
                self.reload_models()  # one may have been added from the command line
            self.input.setFocus()

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

    def search_conversations(self) -> None:
        """Ctrl+K: the cursor in the sidebar's search field, on the Chat page."""
        self.show_page(CHAT_PAGE)
        self.sidebar.search_field.setFocus()
        self.sidebar.search_field.selectAll()

    def use_model(self, model_id: str) -> None:
        """Chat with `model_id`: the Chat page, with the model selected in the picker (once the
        picker lists it: a model that has just been installed is read again first)."""
        self._wanted_model = model_id
        self.show_page(CHAT_PAGE)
        index = self.model_picker.findData(model_id)
        if index >= 0:
            self._wanted_model = None
            self.model_picker.setCurrentIndex(index)
        else:
            self.reload_models()

    def _update_actions(self) -> None:
        running = self._run is not None
        ready = self._has_models and not self._loading
        self.send_button.setEnabled(ready and not running)
        self.stop_button.setEnabled(running)
        # One turn at a time, in the conversation it started in.
        self.model_picker.setEnabled(self._has_models and not running)
        # Nor may the user switch conversations, or delete the one that is answering.
        self.sidebar.new_chat_button.setEnabled(not running)
        self.sidebar.conversation_list.setEnabled(not running)
        self.sidebar.results_list.setEnabled(not running)
        self.view.set_busy(running or self._loading)
        self.export_action.setEnabled(self._conversation_id is not None)
        # Changed between turns: a turn reads them when it starts.
        self.parameters_button.setEnabled(not running and not self._loading)
        self.parameters_action.setEnabled(not running and not self._loading)

    # ---- reads, in the background ----

    def _in_background(self, read: Callable[[], Any], show: Callable[[Any], None]) -> None:
        """Run `read` on the window's pool; `show` its result unless the window has closed."""
        self._tasks.run(read, show, self._show_error)

    def _read_models(self) -> tuple[list[InstalledModel], str | None]:
        models = self._lantern.models.list()
        return models, (self._lantern.models.choose().id if models else None)

    def _show_start(self, result: tuple[list[InstalledModel], str | None]) -> None:
        self._show_models(result)
        if self._has_models:
            self.statusBar().showMessage("Ready.", 3000)

    def reload_models(self) -> None:
        self._in_background(self._read_models, self._show_models)

    def _show_models(self, result: tuple[list[InstalledModel], str | None]) -> None:
        models, default = result
        # Keep the user's choice across a refresh; a model asked for by "Use for chat" wins.
        self.model_picker.show_models(models, default, wanted=self._wanted_model)
        self._wanted_model = None
        self._has_models = bool(models)
        self.summarize_page.set_models(models, default)
        self.translate_page.set_models(models, default)
        self.playground_page.set_models(models, default)
        self.pages.setCurrentWidget(self.view if models else self.empty_state)
        if models:
            self.statusBar().clearMessage()
        else:
            self.statusBar().showMessage("No model installed.")
        self._update_actions()

    def _message_picked(self, conversation_id: int, message_id: int) -> None:
        # A search result: its conversation opens at the message (on its branch), and is the
        # one selected in the list once the search is cleared.
        self.open_conversation(conversation_id, at=message_id)
        self._select_open_conversation()

    def _conversation_deleted(self, conversation_id: int) -> None:
        # Not the one answering: the list is disabled while an answer streams. The focus stays
        # in the list (Del again deletes the next one); Undo brings it back there, not here.
        if conversation_id == self._conversation_id and self._run is None:
            self._close_conversation()

    def _select_open_conversation(self) -> None:
        """The sidebar selects the open conversation (or none), without that reading like the
        user picking it. After a refresh too: one asked for before the user moved on (a turn
        ends, then New chat) selects the conversation that was open when it was asked for."""
        view = self.sidebar.conversation_list
        item = (
            self.sidebar.conversation_item(self._conversation_id)
            if self._conversation_id is not None
            else None
        )
        if item is view.currentItem() and (item is not None or not view.selectedItems()):
            return
        view.blockSignals(True)
        try:
            if item is None:
                view.setCurrentRow(-1)
                view.clearSelection()
            else:
                view.setCurrentItem(item)
                view.scrollToItem(item)
        finally:
            view.blockSignals(False)

    def open_conversation(self, conversation_id: int, *, at: int | None = None) -> None:
        """Show a conversation: at its end, or at the message `at` (a search result)."""
        if self._run is not None:
            return  # one turn at a time, in the conversation it started in
        self._conversation_id = conversation_id
        self._load_serial += 1
        serial = self._load_serial
        self._loading = True
        self._update_actions()
        self._in_background(
            lambda: self._read_conversation(conversation_id, at),
            lambda result: self._show_conversation(serial, result, at=at),
        )

    def _read_conversation(self, conversation_id: int, at: int | None) -> tuple[
        ConversationRecord, list[MessageRecord], dict[int, tuple[int, int]]
    ]:  # fmt: skip
        """In the background: the conversation, its thread, and where the thread branches.
        A message `at` on another branch than the one shown turns the thread to that branch."""
        chat = self._lantern.chat
        record, messages = chat.conversation(conversation_id)
        if at is not None and all(m.id != at for m in messages):
            messages = chat.show_branch(at)
            record = chat.conversations.get(conversation_id)
        return record, messages, self._branches_of(conversation_id, messages)

    def _branches_of(
        self, conversation_id: int, messages: list[MessageRecord]
    ) -> dict[int, tuple[int, int]]:
        """(position, count) for the messages of the thread that have alternatives. One read
        of the whole tree says which those are; only they are asked about."""
        children: dict[int | None, int] = {}
        for message in self._lantern.chat.messages.all(conversation_id):
            children[message.parent_id] = children.get(message.parent_id, 0) + 1
        return {
            m.id: self._lantern.chat.branches(m.id)
            for m in messages
            if children.get(m.parent_id, 0) > 1
        }

    def _show_conversation(
        self,
        serial: int,
        result: tuple[ConversationRecord, list[MessageRecord], dict[int, tuple[int, int]]],
        *,
        at: int | None = None,
        at_offset: int | None = None,
    ) -> None:
        if serial != self._load_serial:
            return  # the user has already picked another one
        record, messages, branches = result
        self._loading = False
        self.view.show_messages(messages, branches, at=at, at_offset=at_offset)
        index = self.model_picker.findData(record.model_id)
        if index >= 0:
            self.model_picker.setCurrentIndex(index)
        answers = [m for m in messages if m.role == "assistant" and m.stats]
        latest = answers[-1].stats if answers else None
        self.context_meter.show_usage(latest, has_messages=bool(messages))
        self._chat_says(stats_line(latest) if latest else "")
        self._update_actions()

    def _show_error(self, error: BaseException) -> None:
        if self._closed:
            return
        self._loading = False
        self.statusBar().showMessage(error_text(error))
        self._update_actions()

    # ---- appearance ----

    def _show_appearance(self, settings: Settings) -> None:
        if self._look_chosen:
            return  # the user chose before the settings were read; theirs is newer
        self._theme, self._font_size = settings.theme, settings.font_size
        self._apply_appearance()

    def set_theme(self, theme: str) -> None:
        self._look_chosen = True
        self._theme = theme
        self._apply_appearance()
        self._save_settings(theme=theme)

    def step_font_size(self, step: int) -> None:
        current = self._font_size or appearance().system_point_size
        size = min(max(current + step, FONT_SIZES[0]), FONT_SIZES[-1])
        self.set_font_size(size)

    def set_font_size(self, size: int | None) -> None:
        self._look_chosen = True
        self._font_size = size
        self._apply_appearance()
        self._save_settings(font_size=size)

    def _apply_appearance(self) -> None:
        appearance().apply(self._theme, self._font_size)
        for item in self.theme_actions.actions():
            item.setChecked(item.data() == self._theme)

    def _save_settings(self, **changes: Any) -> None:
        """One write at a time, the latest value of each setting last: the pool could finish
        two quick writes (Ctrl+- pressed twice) in either order."""
        self._unsaved.update(changes)
        if not self._saving:
            self._write_settings()

    def _write_settings(self) -> None:
        changes, self._unsaved = self._unsaved, {}
        self._saving = bool(changes)
        if changes:
            self._tasks.run(
                lambda: self._lantern.change_settings(**changes),
                lambda _: self._write_settings(),
                self._settings_not_saved,
            )

    def _settings_not_saved(self, error: BaseException) -> None:
        self._saving = False
        self._show_error(error)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._fit_input_height()
        super().changeEvent(event)

    def _fit_input_height(self) -> None:
        self.input.setFixedHeight(self.input.fontMetrics().lineSpacing() * 4 + 16)

    # ---- system prompt and parameters ----

    def edit_parameters(self) -> None:
        """The dialog, on the open conversation's parameters, or the next new one's."""
        if self._run is not None or self._loading:
            return
        conversation_id = self._conversation_id
        if conversation_id is None:
            self._open_parameters(None, self._new_chat_parameters)
            return
        self._in_background(
            lambda: ConversationParameters.of(
                self._lantern.chat.conversations.get(conversation_id)
            ),
            lambda parameters: self._open_parameters(conversation_id, parameters),
        )

    def _open_parameters(
        self, conversation_id: int | None, parameters: ConversationParameters
    ) -> None:
        if conversation_id != self._conversation_id or self._run is not None:
            return  # the user moved on while it was read
        dialog = ConversationSettingsDialog(self._lantern, self._tasks, parameters, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(
            lambda: self._parameters_chosen(conversation_id, dialog.parameters())
        )
        dialog.open()

    def _parameters_chosen(
        self, conversation_id: int | None, chosen: ConversationParameters
    ) -> None:
        if conversation_id is None:
            self._new_chat_parameters = chosen
            self.statusBar().showMessage("The next new conversation starts with these settings.")
            return

        def save() -> object:
            return self._lantern.chat.set_parameters(
                conversation_id,
                system_prompt=chosen.system_prompt,
                sampling=chosen.sampling,
                context_policy=chosen.context_policy,
            )

        self._tasks.run(
            save,
            lambda _: self.statusBar().showMessage("Saved for this conversation."),
            self._show_error,
        )

    # ---- files ----

    def export_conversation(self, conversation_id: int | None = None) -> None:
        """Save a conversation (the open one unless told) as Markdown, JSON or HTML."""
        target = self._conversation_id if conversation_id is None else conversation_id
        if target is None:
            self.statusBar().showMessage("Open a conversation to export it.")
            return
        item = self.sidebar.conversation_item(target)
        title = item.text() if item is not None else "Conversation"
        name = "".join(c for c in title if c not in '\\/:*?"<>|').strip() or "Conversation"
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export conversation", f"{name}.md", ";;".join(EXPORT_FILTERS)
        )
        if not path:
            return
        file = Path(path)
        by_suffix = {f".{fmt}": fmt for fmt in get_args(ExportFormat)}
        fmt = by_suffix.get(file.suffix.lower()) or EXPORT_FILTERS.get(chosen, "md")
        if file.suffix.lower() != f".{fmt}":
            file = file.with_name(f"{file.name}.{fmt}")
        self._tasks.run(
            lambda: self._lantern.history.export_file(target, file, fmt),
            lambda _: self.statusBar().showMessage(f"Exported to {file}"),
            self._show_error,
        )

    def import_conversation(self) -> None:
        """Lantern's JSON export or an OpenAI-style message list, opened once stored."""
        path, _ = QFileDialog.getOpenFileName(self, "Import conversation", "", IMPORT_FILTER)
        if not path:
            return

        def imported(record: ConversationRecord) -> None:
            self.statusBar().showMessage(f"Imported “{record.title}”.")
            if self._run is None:
                self.open_conversation(record.id)
            self.sidebar.refresh(select=self._conversation_id)

        self._tasks.run(
            lambda: self._lantern.history.import_file(Path(path)), imported, self._show_error
        )

    # ---- a chat turn ----

    def new_chat(self) -> None:
        self.show_page(CHAT_PAGE)
        if self._run is not None:
            return
        self._close_conversation()
        self.input.setFocus()

    def _close_conversation(self) -> None:
        """An empty view, no conversation selected: the next message starts a new one."""
        self._load_serial += 1  # a load still on its way no longer applies
        self._loading = False
        self._conversation_id = None
        self.view.clear_messages()
        self.context_meter.show_usage(None)
        self._select_open_conversation()
        self.statusBar().clearMessage()
        self._update_actions()

    def send(self) -> None:
        text = self.input.toPlainText()
        if not self.send_button.isEnabled() or not text.strip():
            return
        run = ChatRun.sending(
            self._lantern.chat,
            text,
            conversation_id=self._conversation_id,
            model_id=self.model_picker.currentData(),
            parameters=self._new_chat_parameters if self._conversation_id is None else None,
        )
        self._start_run(run, text)

    def regenerate(self, answer_id: int) -> None:
        model_id = self.model_picker.currentData()
        self._start_turn(lambda: self._lantern.chat.regenerate(answer_id, model_id=model_id))

    def edit_message(self, message_id: int, text: str) -> None:
        model_id = self.model_picker.currentData()
        self._start_turn(lambda: self._lantern.chat.edit(message_id, text, model_id=model_id))

    def continue_answer(self, answer_id: int) -> None:
        self._start_turn(lambda: self._lantern.chat.continue_answer(answer_id))

    def _start_turn(self, start: Callable[[], ChatTurn]) -> None:
        """An action on a message of the open conversation: one turn at a time."""
        if self._run is not None or self._loading or not self._has_models:
            return
        self._start_run(ChatRun(self._lantern.chat, start), "")

    def switch_branch(self, message_id: int, step: int) -> None:
        """The arrows: the neighbouring version of the message, and the thread through it."""
        conversation_id = self._conversation_id
        if self._run is not None or self._loading or conversation_id is None:
            return
        self._load_serial += 1
        serial = self._load_serial
        self._loading = True
        self._update_actions()
        # The other version takes this one's place on the screen: the reader's eyes stay put.
        offset = self.view.offset_of(message_id)

        def read() -> tuple[
            tuple[ConversationRecord, list[MessageRecord], dict[int, tuple[int, int]]], int
        ]:
            chat = self._lantern.chat
            ids = [m.id for m in chat.messages.siblings(message_id)]
            chosen = ids[max(0, min(len(ids) - 1, ids.index(message_id) + step))]
            messages = chat.show_branch(chosen)
            record = chat.conversations.get(conversation_id)
            return (record, messages, self._branches_of(conversation_id, messages)), chosen

        self._in_background(
            read,
            lambda result: self._show_conversation(
                serial, result[0], at=result[1], at_offset=offset
            ),
        )

    def _start_run(self, run: ChatRun, text: str) -> None:
        run.started.connect(self._turn_started)
        run.model_ready.connect(self._model_ready)
        run.token.connect(self.view.append_answer)
        run.finished.connect(self._turn_finished)
        run.failed.connect(self._turn_failed)
        thread = chat_thread(run, self)
        thread.finished.connect(self._thread_finished)
        self._run, self._thread, self._sent_text = run, thread, text
        self._update_actions()
        self._chat_says("Sending…")
        thread.start()

    def stop(self) -> None:
        if self._run is not None:
            self._run.cancel()  # thread-safe; the turn ends as 'stopped'
            self._chat_says("Stopping…")

    def _turn_started(self, begun: TurnStart) -> None:
        if self._closed:
            return
        if self._conversation_id is None:
            self._new_chat_parameters = ConversationParameters()  # they went to this one
        self._conversation_id = begun.conversation_id
        self._update_actions()
        self.view.add_user_message(begun.user, begun.user_branch)
        self.view.begin_answer(begun.answer, begun.answer_branch)
        self._answer_open = True
        # The message is stored now; clear the box unless the user already wrote on.
        if self._sent_text and self.input.toPlainText() == self._sent_text:
            self.input.clear()
        self._chat_says(f"Loading {self.model_picker.currentData()}…")

    def _model_ready(self) -> None:
        if self._run is not None and not self._closed:
            self._chat_says(f"Answering with {self.model_picker.currentData()}…")

    def _turn_finished(self, outcome: TurnOutcome) -> None:
        if self._closed:
            return
        self._answer_open = False
        self.view.end_answer(outcome.answer)
        if outcome.answer.stats:
            self.context_meter.show_usage(outcome.answer.stats)
        line = stats_line(asdict(outcome.stats)) if outcome.stats else ""
        prefix = "Stopped" if outcome.status == "stopped" else ""
        self._chat_says(" · ".join(p for p in (prefix, line) if p) or "Done.")
        self.sidebar.refresh(select=self._conversation_id)

    def _turn_failed(self, message: str) -> None:
        if self._closed:
            return
        if self._answer_open:
            outcome = self._run.outcome if self._run is not None else None
            if outcome is not None:
                self.view.end_answer(outcome.answer)
            else:
                self.view.end_answer(status="failed", error=message)
            self._answer_open = False
            self.sidebar.refresh(select=self._conversation_id)
        self._chat_says(message)

    def _thread_finished(self) -> None:
        if self._thread is not None:
            self._thread.wait()  # finished is emitted just before the thread really ends
            self._thread.deleteLater()
        self._run = self._thread = None
        if not self._closed:
            self._update_actions()

    # ---- closing ----

    def shutdown(self) -> None:
        """Stop the running turn and wait for every worker: no thread outlives the window."""
        if self._closed:
            return
        self._closed = True
        self._tasks.close()
        self.models_page.shutdown()
        self.summarize_page.shutdown()
        self.translate_page.shutdown()
        self.playground_page.shutdown()
        if self._run is not None:
            self._run.cancel()
        if self._thread is not None:
            self._thread.wait()  # the turn ends at the next token (or once a model load ends)
        self._run = self._thread = None
        self.view.flush()
        self._pool.clear()  # reads not started yet (a Hub lookup can take seconds) are dropped
        self._pool.waitForDone()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
