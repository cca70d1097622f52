"""The Chat page: the model picker, the conversation sidebar, the conversation (ChatView), the
message box with Send and Stop, the context meter, and the documents the conversation answers
from (the library picker; an answer's Sources open in the source viewer).

Every page of the window has this shape. A page is a QWidget made with the Lantern and the
window's BackgroundTasks; the window `start()`s it (its first reads) and `shutdown()`s it on
closing. Its long job is a service run (services/runs.py) in a PageRun (ui/runs.py): here a
chat turn, one at a time. Its reads and writes (a conversation, the parameters, an export) go
through BackgroundTasks, so the GUI thread never waits on the store or the engine. It speaks
to the window by signals (its status line, a reply to the user, a wish for the model catalog)
and never touches the window's widgets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.services.chat import (
    ChatTurnRun,
    ConversationParameters,
    DocumentChoice,
    TurnStarted,
)
from desktop.settings import Settings
from desktop.ui.chat.context_meter import ContextMeter
from desktop.ui.chat.conversation_settings import ConversationSettingsDialog
from desktop.ui.chat.document_picker import NO_DOCUMENTS, DocumentPicker
from desktop.ui.chat.sidebar import ConversationSidebar
from desktop.ui.chat.view import ChatView
from desktop.ui.error_text import error_text
from desktop.ui.models.formatting import stats_line
from desktop.ui.page import Page
from desktop.ui.runs import PageRun
from desktop.ui.widgets.empty_state import EmptyState
from desktop.ui.widgets.export_dialog import choose_export_file
from desktop.ui.widgets.message_input import MessageInput
from desktop.ui.widgets.model_picker import ModelPicker
from desktop.ui.widgets.panes import panes
from desktop.ui.widgets.source_view import SourceView

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.services.chat import ChatService, ChatTurn, ThreadView, TurnOutcome
    from desktop.services.history import ExportFormat
    from desktop.services.models import ModelOption
    from desktop.store.repositories import ConversationRecord, MessageSource
    from desktop.ui.bridge import BackgroundTasks

NO_MODEL_BODY = (
    "Lantern needs a language model to chat with. Download one from the catalog (the small "
    "starter model takes a minute), or import a GGUF file you already have."
)
# The export formats, as the save dialog offers them (the first is the default).
EXPORT_FORMATS: dict[ExportFormat, str] = {
    "md": "Markdown (*.md)",
    "json": "Lantern JSON, every branch (*.json)",
    "html": "Web page (*.html)",
}
IMPORT_FILTER = "Conversations (*.json);;All files (*)"
# The window shown before any answer says the real one (answers store the window they had).
DEFAULT_CONTEXT_WINDOW = Settings().context_length


class ChatPage(Page):
    status_changed = Signal(str)  # the page's line (a turn's progress, its figures)
    reply = Signal(str)  # to what the user just did (saved, exported, an error): shown at once
    model_catalog_wanted = Signal()  # "Get a model"

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self._conversation_id: int | None = None
        self._has_models = False
        self._wanted_model: str | None = None  # to select in the picker once it lists it
        self._loading = False  # a conversation is on its way to the view
        self._load_serial = 0  # only the latest conversation load may fill the view
        self._sent_text = ""
        self._answer_open = False
        # What the next new conversation starts with (chosen before its first message).
        self._new_chat_parameters = ConversationParameters()
        self._new_chat_documents = NO_DOCUMENTS
        self._saving_documents = 0  # choices on their way to the store: a turn waits for them
        self.source_view: SourceView | None = None  # made when a source is first opened
        self._run = PageRun(self, "lantern-chat-turn")
        self._run.yielded.connect(self._turn_event)
        self._run.finished.connect(self._turn_finished)
        self._run.failed.connect(self._turn_failed)
        self._run.ended.connect(self._update_actions)
        self._build()
        self._update_actions()

    @property
    def conversation_id(self) -> int | None:
        """The conversation shown (None: a new chat)."""
        return self._conversation_id

    def answering(self) -> bool:
        return self._run.running()

    # ---- layout ----

    def _build(self) -> None:
        self.sidebar = ConversationSidebar(self._lantern, self._tasks)
        self.sidebar.new_chat_requested.connect(self.new_chat)
        self.sidebar.conversation_selected.connect(self.open_conversation)
        self.sidebar.message_selected.connect(self._message_picked)
        self.sidebar.conversation_deleted.connect(self._conversation_deleted)
        self.sidebar.export_requested.connect(self.export_conversation)
        self.sidebar.refreshed.connect(lambda: self.sidebar.select_quietly(self._conversation_id))

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
        self.document_picker = DocumentPicker()
        self.document_picker.chosen.connect(self._documents_chosen)
        self.document_picker.libraries_wanted.connect(self.refresh_libraries)
        top.addWidget(self.document_picker)
        top.addStretch(1)
        self.context_meter = ContextMeter(DEFAULT_CONTEXT_WINDOW)
        top.addWidget(self.context_meter)

        self.view = ChatView()
        self.view.regenerate_requested.connect(self.regenerate)
        self.view.edit_submitted.connect(self.edit_message)
        self.view.continue_requested.connect(self.continue_answer)
        self.view.branch_requested.connect(self.switch_branch)
        self.view.link_activated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.view.source_requested.connect(self.open_source)
        self.empty_state = EmptyState("No model installed", NO_MODEL_BODY, "Get a model")
        self.empty_state.action_clicked.connect(self.model_catalog_wanted)
        self.body = QStackedWidget()  # the conversation, or what to do without a model
        self.body.addWidget(self.view)
        self.body.addWidget(self.empty_state)

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
        column.addWidget(self.body, 1)
        column.addLayout(bottom)

        splitter = panes([self.sidebar, main], stretch=(0, 1), sizes=(240, 760))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        # Esc stops the answer on this page; the writing pages take it to cancel their run.
        stop = QShortcut(QKeySequence("Escape"), self, self.stop)
        stop.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        # The window puts these in its menus; whether they can be used is the page's to say.
        self.export_action = QAction("&Export conversation…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(lambda _checked=False: self.export_conversation())
        self.parameters_action = QAction("System &prompt and parameters…", self)
        self.parameters_action.setShortcut(QKeySequence("Ctrl+P"))
        self.parameters_action.triggered.connect(lambda _checked=False: self.edit_parameters())

    def _update_actions(self) -> None:
        running = self._run.running()
        ready = self._has_models and not self._loading and not self._saving_documents
        self.send_button.setEnabled(ready and not running)
        self.stop_button.setEnabled(running)
        # One turn at a time, in the conversation it started in: neither another model, nor
        # another conversation, nor deleting the one that is answering.
        self.model_picker.setEnabled(self._has_models and not running)
        self.sidebar.lock(running)
        self.view.set_busy(running or self._loading)
        self.export_action.setEnabled(self._conversation_id is not None)
        # Changed between turns: a turn reads them when it starts.
        self.parameters_button.setEnabled(not running and not self._loading)
        self.parameters_action.setEnabled(not running and not self._loading)
        self.document_picker.setEnabled(not running and not self._loading)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._fit_input_height()
        super().changeEvent(event)

    def _fit_input_height(self) -> None:
        self.input.setFixedHeight(self.input.fontMetrics().lineSpacing() * 4 + 16)

    # ---- what the window asks ----

    def set_models(self, models: list[ModelOption], default_id: str | None) -> None:
        # Keep the user's choice across a refresh; a model asked for by "Use for chat" wins.
        self.model_picker.show_models(models, default_id, wanted=self._wanted_model)
        self._wanted_model = None
        self._has_models = bool(models)
        self.body.setCurrentWidget(self.view if models else self.empty_state)
        self._update_actions()

    def has_models(self) -> bool:
        return self._has_models

    def use_model(self, model_id: str) -> bool:
        """Chat with `model_id`: chosen now if the picker lists it (True); else chosen once
        `set_models` lists it (a model just installed: the window reads the models again)."""
        index = self.model_picker.findData(model_id)
        self._wanted_model = None if index >= 0 else model_id
        if index >= 0:
            self.model_picker.setCurrentIndex(index)
        return index >= 0

    def focus_input(self) -> None:
        self.input.setFocus()

    def search_conversations(self) -> None:
        self.sidebar.focus_search()

    def start(self) -> None:
        self.sidebar.refresh()  # the conversations
        self.refresh_libraries()

    def shutdown(self) -> None:
        """Stop the running turn and wait for its thread: no thread outlives the page."""
        self._run.shutdown()
        self.view.flush()

    # ---- conversations ----

    def new_chat(self) -> None:
        if self._run.running():
            return
        self._close_conversation()
        self.input.setFocus()

    def open_conversation(self, conversation_id: int, *, at: int | None = None) -> None:
        """Show a conversation: at its end, or at the message `at` (a search result)."""
        if self._run.running():
            return  # one turn at a time, in the conversation it started in
        self._conversation_id = conversation_id
        self._load(lambda chat: chat.thread_view(conversation_id, through=at))

    def switch_branch(self, message_id: int, step: int) -> None:
        """The arrows: the neighbouring version of the message, and the thread through it."""
        conversation_id = self._conversation_id
        if self._run.running() or self._loading or conversation_id is None:
            return
        # The other version takes this one's place on the screen: the reader's eyes stay put.
        offset = self.view.offset_of(message_id)
        self._load(
            lambda chat: chat.thread_view(conversation_id, through=message_id, step=step),
            at_offset=offset,
        )

    def _load(
        self, read: Callable[[ChatService], ThreadView], *, at_offset: int | None = None
    ) -> None:
        self._load_serial += 1
        serial = self._load_serial
        self._loading = True
        self._update_actions()

        def load() -> tuple[ThreadView, DocumentChoice]:
            chat = self._lantern.chat
            thread = read(chat)
            return thread, chat.documents_for(thread.conversation.id)

        self._tasks.run(
            load,
            lambda loaded: self._show_thread(serial, *loaded, at_offset=at_offset),
            self._show_error,
        )

    def _show_thread(
        self,
        serial: int,
        thread: ThreadView,
        documents: DocumentChoice,
        *,
        at_offset: int | None,
    ) -> None:
        if serial != self._load_serial:
            return  # the user has already picked another one
        self._loading = False
        self.document_picker.set_choice(documents)
        messages = thread.messages
        self.view.show_messages(messages, thread.branches, at=thread.focus, at_offset=at_offset)
        self.model_picker.choose(thread.conversation.model_id)
        answers = [m for m in messages if m.role == "assistant" and m.stats]
        latest = answers[-1].stats if answers else None
        self.context_meter.show_usage(latest, has_messages=bool(messages))
        self.status_changed.emit(stats_line(latest) if latest else "")
        self._update_actions()

    def _close_conversation(self) -> None:
        """An empty view, no conversation selected: the next message starts a new one."""
        self._load_serial += 1  # a load still on its way no longer applies
        self._loading = False
        self._conversation_id = None
        self.document_picker.set_choice(self._new_chat_documents)
        self.view.clear_messages()
        self.context_meter.show_usage(None)
        self.sidebar.select_quietly(None)
        self.reply.emit("")
        self._update_actions()

    def _message_picked(self, conversation_id: int, message_id: int) -> None:
        # A search result: its conversation opens at the message (on its branch), and is the
        # one selected in the list once the search is cleared.
        self.open_conversation(conversation_id, at=message_id)
        self.sidebar.select_quietly(self._conversation_id)

    def _conversation_deleted(self, conversation_id: int) -> None:
        # Not the one answering: the list is locked while an answer streams. The focus stays
        # in the list (Del again deletes the next one); Undo brings it back there, not here.
        if conversation_id == self._conversation_id and not self._run.running():
            self._close_conversation()

    def _show_error(self, error: BaseException) -> None:
        self._loading = False
        self.reply.emit(error_text(error))
        self._update_actions()

    # ---- system prompt and parameters ----

    def edit_parameters(self) -> None:
        """The dialog, on the open conversation's parameters, or the next new one's."""
        if self._run.running() or self._loading:
            return
        conversation_id = self._conversation_id
        if conversation_id is None:
            self._open_parameters(None, self._new_chat_parameters)
            return
        self._tasks.run(
            lambda: ConversationParameters.of(
                self._lantern.chat.conversations.get(conversation_id)
            ),
            lambda parameters: self._open_parameters(conversation_id, parameters),
            self._show_error,
        )

    def _open_parameters(
        self, conversation_id: int | None, parameters: ConversationParameters
    ) -> None:
        if conversation_id != self._conversation_id or self._run.running():
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
            self.reply.emit("The next new conversation starts with these settings.")
            return

        def save() -> object:
            return self._lantern.chat.set_parameters(
                conversation_id,
                system_prompt=chosen.system_prompt,
                sampling=chosen.sampling,
                context_policy=chosen.context_policy,
            )

        self._tasks.run(
            save, lambda _: self.reply.emit("Saved for this conversation."), self._show_error
        )

    # ---- documents ----

    def refresh_libraries(self) -> None:
        """Lists the libraries in the picker (read in the background)."""
        self._tasks.run(
            lambda: [library.name for library in self._lantern.documents.libraries()],
            self.document_picker.show_libraries,
            lambda error: self.reply.emit(error_text(error)),
        )

    def _documents_chosen(self, choice: DocumentChoice) -> None:
        conversation_id = self._conversation_id
        if conversation_id is None:
            self._new_chat_documents = choice  # sent with its first message
            return
        self._saving_documents += 1
        self._update_actions()

        def saved(error: BaseException | None) -> None:
            self._saving_documents -= 1
            self._update_actions()
            if error is not None:  # e.g. a library removed meanwhile: show what is stored
                self.reply.emit(error_text(error))
                self.refresh_libraries()
                self._tasks.run(
                    lambda: self._lantern.chat.documents_for(conversation_id),
                    lambda stored: self._show_documents(conversation_id, stored),
                    lambda _error: None,  # the conversation is gone: nothing to show
                )

        self._tasks.run(
            lambda: self._lantern.chat.choose_documents(
                conversation_id, choice.libraries, documents_only=choice.documents_only
            ),
            lambda _: saved(None),
            saved,
        )

    def _show_documents(self, conversation_id: int, choice: DocumentChoice) -> None:
        if conversation_id == self._conversation_id:
            self.document_picker.set_choice(choice)

    def open_source(self, source: MessageSource) -> None:
        """An answer's source, in the viewer: its document at the passage, highlighted."""
        if self.source_view is None:
            self.source_view = SourceView(
                self._tasks, lambda path: self._lantern.documents.source_text(path), self
            )
        self.source_view.open_source(source)

    # ---- files ----

    def export_conversation(self, conversation_id: int | None = None) -> None:
        """Save a conversation (the open one unless told) as Markdown, JSON or HTML."""
        target = self._conversation_id if conversation_id is None else conversation_id
        if target is None:
            self.reply.emit("Open a conversation to export it.")
            return
        title = self.sidebar.title_of(target) or "Conversation"
        name = "".join(c for c in title if c not in '\\/:*?"<>|').strip() or "Conversation"
        chosen = choose_export_file(self, "Export conversation", name, EXPORT_FORMATS)
        if chosen is None:
            return
        file, fmt = chosen
        self._tasks.run(
            lambda: self._lantern.history.export_file(target, file, fmt),
            lambda _: self.reply.emit(f"Exported to {file}"),
            self._show_error,
        )

    def import_conversation(self) -> None:
        """Lantern's JSON export or an OpenAI-style message list, opened once stored."""
        path, _ = QFileDialog.getOpenFileName(self, "Import conversation", "", IMPORT_FILTER)
        if not path:
            return

        def imported(record: ConversationRecord) -> None:
            self.reply.emit(f"Imported “{record.title}”.")
            if not self._run.running():
                self.open_conversation(record.id)
            self.sidebar.refresh(select=self._conversation_id)

        self._tasks.run(
            lambda: self._lantern.history.import_file(Path(path)), imported, self._show_error
        )

    # ---- a chat turn ----

    def send(self) -> None:
        text = self.input.toPlainText()
        if not self.send_button.isEnabled() or not text.strip():
            return
        conversation_id, model_id = self._conversation_id, self.model_picker.currentData()
        new = conversation_id is None
        parameters = self._new_chat_parameters if new else None
        documents = self._new_chat_documents if new else None
        self._start_turn(
            lambda chat: chat.send(
                text,
                conversation_id=conversation_id,
                model_id=model_id,
                parameters=parameters,
                documents=documents,
            ),
            text,
        )

    def regenerate(self, answer_id: int) -> None:
        model_id = self.model_picker.currentData()
        self._act(lambda chat: chat.regenerate(answer_id, model_id=model_id))

    def edit_message(self, message_id: int, text: str) -> None:
        model_id = self.model_picker.currentData()
        self._act(lambda chat: chat.edit(message_id, text, model_id=model_id))

    def continue_answer(self, answer_id: int) -> None:
        self._act(lambda chat: chat.continue_answer(answer_id))

    def _act(self, start: Callable[[ChatService], ChatTurn]) -> None:
        """An action on a message of the open conversation: one turn at a time."""
        if not self._run.running() and not self._loading and self._has_models:
            self._start_turn(start)

    def _start_turn(self, start: Callable[[ChatService], ChatTurn], text: str = "") -> None:
        lantern = self._lantern

        def begin() -> ChatTurnRun:
            # The chat service is built on first use, under a lock that a worker building
            # another part may hold for seconds: here, off the GUI thread.
            chat = lantern.chat
            return ChatTurnRun(chat, start(chat))

        self._sent_text = text
        self._run.start(begin)
        self._update_actions()
        self.status_changed.emit("Sending…")

    def stop(self) -> None:
        if self._run.running():
            self._run.cancel()  # thread-safe; the turn ends as 'stopped'
            self.status_changed.emit("Stopping…")

    def _turn_event(self, event: object) -> None:
        if isinstance(event, str):
            self.view.append_answer(event)
        elif isinstance(event, TurnStarted):
            self._turn_started(event)
        else:  # ModelReady: the answer comes next
            self.status_changed.emit(f"Answering with {self.model_picker.currentData()}…")

    def _turn_started(self, begun: TurnStarted) -> None:
        if self._conversation_id is None:
            # They went to this one (the picker goes on showing its documents).
            self._new_chat_parameters = ConversationParameters()
            self._new_chat_documents = NO_DOCUMENTS
        self._conversation_id = begun.conversation_id
        self._update_actions()
        self.view.add_user_message(begun.user, begun.user_branch)
        self.view.begin_answer(begun.answer, begun.answer_branch)
        self._answer_open = True
        # The message is stored now; clear the box unless the user already wrote on.
        if self._sent_text and self.input.toPlainText() == self._sent_text:
            self.input.clear()
        self.status_changed.emit(f"Loading {self.model_picker.currentData()}…")

    def _turn_finished(self, outcome: TurnOutcome) -> None:
        self._answer_open = False
        self.view.end_answer(outcome.answer)
        if outcome.answer.stats:
            self.context_meter.show_usage(outcome.answer.stats)
        line = stats_line(asdict(outcome.stats)) if outcome.stats else ""
        prefix = "Stopped" if outcome.status == "stopped" else ""
        self.status_changed.emit(" · ".join(p for p in (prefix, line) if p) or "Done.")
        self.sidebar.refresh(select=self._conversation_id)

    def _turn_failed(self, error: BaseException) -> None:
        text = error_text(error)
        if self._answer_open:
            run = self._run.run
            outcome: TurnOutcome | None = run.outcome if run is not None else None
            if outcome is not None:
                self.view.end_answer(outcome.answer)
            else:
                self.view.end_answer(status="failed", error=text)
            self._answer_open = False
            self.sidebar.refresh(select=self._conversation_id)
        self.status_changed.emit(text)
