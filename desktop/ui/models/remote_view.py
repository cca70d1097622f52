"""The remote engines: OpenAI-compatible servers whose models Lantern uses beside its own.
Each row says whether the server answers now and how fast; under it, the selected remote's
models (Use for chat picks one in the chat) and what it cannot do, with the reason. Test
connection asks it again; Add… opens the dialog that tests one before adding it; Remove…
forgets a remote and its API key. Every call that reaches a server runs on the window's
BackgroundTasks."""

from __future__ import annotations

import html
from dataclasses import asdict
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import LanternError
from desktop.models.remotes import remote_model_id
from desktop.services.remotes import problem_of
from desktop.ui.error_text import error_text
from desktop.ui.models.add_remote_dialog import AddRemoteDialog
from desktop.ui.models.formatting import UNKNOWN, tokens_text
from desktop.ui.page import LanternWidget
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.row_table import row_table

if TYPE_CHECKING:
    from desktop.engine.text_model import Capabilities
    from desktop.models.remotes import Remote
    from desktop.services.app import Lantern
    from desktop.services.remotes import RemoteCheck, RemoteStatus, RemovedRemote, StatusProblem
    from desktop.ui.bridge import BackgroundTasks

COLUMNS = ("Name", "URL", "Status", "Latency", "Models")
STATUS, LATENCY, MODELS = 2, 3, 4
EMPTY = (
    "No remote engines yet. Add an OpenAI-compatible server (vLLM, llama-server, Ollama, "
    "LM Studio…) to use its models here."
)
CHECKING = "Checking…"
ANSWERS = "Answers"
NO_ANSWER = "No answer"
PROBLEM_WORDS: dict[StatusProblem, str] = {
    "unreachable": NO_ANSWER,
    "no_key": "Key missing",
    "key_refused": "Key refused",
    "busy": "Busy",
    "not_found": "Wrong URL",
    "server_error": "Server error",
}


class RemoteView(LanternWidget):
    remotes_changed = Signal()  # one was added or removed: its models come or go
    use_requested = Signal(str)  # a remote model's id (NAME:MODEL), to chat with

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self.remotes: list[Remote] = []
        self.capabilities: dict[str, Capabilities] = {}  # by remote, as last tested
        self.dialog: AddRemoteDialog | None = None
        self._checking = False  # whether the remotes are being asked if they answer
        self._check_again = False
        self._serial = 0
        self._busy = False

        self.table = row_table(COLUMNS, "Remote engines", stretch_column=1)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.models_caption = QLabel()
        self.models_list = QListWidget()
        self.models_list.setAccessibleName("Models of the remote")
        self.models_list.itemSelectionChanged.connect(self._update_actions)
        self.models_list.itemDoubleClicked.connect(lambda _item: self.use_selected())
        self.models_caption.setBuddy(self.models_list)
        self.details = QLabel()  # what the remote cannot do, and why
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Add an OpenAI-compatible server by its URL and API key")
        self.add_button.clicked.connect(self.add_remote)
        self.use_button = QPushButton("Use for chat")
        self.use_button.setToolTip("Chat with the model selected in the list above")
        self.use_button.clicked.connect(self.use_selected)
        self.test_button = QPushButton("Test connection")
        self.test_button.setToolTip("Ask the server again: how fast it answers, its models")
        self.test_button.clicked.connect(self.test_selected)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        for button in (self.use_button, self.test_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)

        self.notice = Notice()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.models_caption)
        layout.addWidget(self.models_list, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)
        self._update_actions()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()  # one may have come or gone from the command line meanwhile

    # ---- the list ----

    def refresh(self, select: str | None = None) -> None:
        """Read the remotes (the file), then ask each whether it answers (the network)."""
        self._serial += 1
        serial = self._serial
        lantern = self._lantern  # its parts are built on first use: in the task

        def read() -> list[tuple[Remote, Capabilities]]:
            remotes = lantern.remotes
            return [(remote, remotes.capabilities(remote)) for remote in remotes.list()]

        self._tasks.run(
            read,
            lambda found: self._show_remotes(serial, found, select),
            self.notice.show_error,
        )

    def _show_remotes(
        self, serial: int, found: list[tuple[Remote, Capabilities]], select: str | None
    ) -> None:
        if serial != self._serial:
            return  # a newer read is on its way
        previous = self.selected_remote()
        wanted = select or (previous.name if previous else None)
        remotes = [remote for remote, _ in found]
        self.remotes = remotes
        self.capabilities = {remote.name: capabilities for remote, capabilities in found}
        self.table.blockSignals(True)
        self.table.clearSelection()
        self.table.setRowCount(len(remotes))
        for row, remote in enumerate(remotes):
            cells = (remote.name, remote.url, CHECKING, UNKNOWN, str(len(remote.models)))
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.blockSignals(False)
        if remotes:
            names = [r.name for r in remotes]
            self.table.selectRow(names.index(wanted) if wanted in names else 0)
            self._check_statuses()
            if self.notice.message == EMPTY:
                self.notice.clear_message()
        elif not self.notice.message:  # not over what an action just said
            self.notice.show_info(EMPTY)
        self._selection_changed()

    def _check_statuses(self) -> None:
        """Ask each remote whether it answers. One check at a time: a server that does not
        answer holds a check until it times out. Asked meanwhile, another follows it."""
        if self._checking:
            self._check_again = True
            return
        self._checking, self._check_again = True, False
        lantern = self._lantern
        self._tasks.run(lambda: lantern.remotes.statuses(), self._show_statuses, self._not_checked)

    def _show_statuses(self, statuses: list[RemoteStatus]) -> None:
        for status in statuses:
            remote = status.remote
            self._set_row(
                remote.name, status.latency_s, status.models, status.problem, status.error
            )
        self._checked()

    def _not_checked(self, error: BaseException) -> None:
        self.notice.show_error(error)
        self._checked()

    def _checked(self) -> None:
        self._checking = False
        if self._check_again:
            self._check_statuses()

    def _set_row(
        self,
        name: str,
        latency_s: float | None,
        models: int,
        problem: StatusProblem | None = None,
        error: str | None = None,
    ) -> None:
        """A remote's row: it answers (how fast, with how many models), or what is wrong in
        a word, the whole message on the word's tooltip."""
        names = [r.name for r in self.remotes]
        if name not in names:
            return
        row = names.index(name)
        state = QTableWidgetItem(ANSWERS if problem is None else PROBLEM_WORDS[problem])
        state.setToolTip(error or "")
        self.table.setItem(row, STATUS, state)
        answer = f"{latency_s * 1000:.0f} ms" if latency_s is not None else UNKNOWN
        self.table.setItem(row, LATENCY, QTableWidgetItem(answer))
        self.table.setItem(row, MODELS, QTableWidgetItem(str(models)))

    def selected_remote(self) -> Remote | None:
        rows = self.table.selectionModel().selectedRows()
        return self.remotes[rows[0].row()] if rows and rows[0].row() < len(self.remotes) else None

    def _selection_changed(self) -> None:
        remote = self.selected_remote()
        self._show_models(remote)
        self.details.setText(self._details(remote) if remote else "")
        self._update_actions()

    def _update_actions(self) -> None:
        chosen = self.selected_remote() is not None
        for button in (self.test_button, self.remove_button):
            button.setEnabled(chosen and not self._busy)
        self.add_button.setEnabled(not self._busy)
        self.use_button.setEnabled(self.selected_model() is not None)

    def _show_models(self, remote: Remote | None) -> None:
        """The remote's models as `--model` takes them, the first selected."""
        self.models_list.clear()
        self.models_caption.setText(
            f"<b>Models of {html.escape(remote.name)}</b> (double-click one to chat with it)"
            if remote is not None
            else ""
        )
        if remote is None:
            return
        for model in remote.models:
            model_id = remote_model_id(remote.name, model.id)
            context = model.context_length
            item = QListWidgetItem(
                f"{model_id} — context "
                + (tokens_text(context) if context else "not stated by the server")
            )
            item.setData(Qt.ItemDataRole.UserRole, model_id)
            self.models_list.addItem(item)
        if remote.models:
            self.models_list.setCurrentRow(0)
        else:
            empty = QListWidgetItem("The server listed no models when it was last tested.")
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.models_list.addItem(empty)

    def selected_model(self) -> str | None:
        """The id (NAME:MODEL) of the model selected in the remote's list."""
        items = self.models_list.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _details(self, remote: Remote) -> str:
        """What the remote cannot do, and why (as it was last tested)."""
        capabilities = self.capabilities.get(remote.name)
        reasons = [r for r in asdict(capabilities).values() if r] if capabilities else []
        if not reasons:
            return ""
        return "\n".join([f"What {remote.name} cannot do:", *(f"• {r}" for r in reasons)])

    def use_selected(self) -> None:
        model_id = self.selected_model()
        if model_id is not None:
            self.use_requested.emit(model_id)

    # ---- actions ----

    def add_remote(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = AddRemoteDialog(self)
        self.dialog.add_requested.connect(self._add)
        self.dialog.open()

    def _add(self, name: str, url: str, key: str) -> None:
        dialog = self.dialog
        assert dialog is not None
        dialog.testing(True)
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.remotes.add(name, url, key or None),
            lambda check: self._added(dialog, check),
            dialog.show_error,
        )

    def _added(self, dialog: AddRemoteDialog, check: RemoteCheck) -> None:
        dialog.accept()
        self.notice.show_info(f"Added {check.remote.name}. {_check_text(check)}")
        self.refresh(select=check.remote.name)
        self.remotes_changed.emit()

    def test_selected(self) -> None:
        remote = self.selected_remote()
        if remote is None:
            return
        self._start(f"Testing the connection to {remote.name}…")
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.remotes.check(remote.name),
            self._tested,
            lambda error: self._test_failed(remote.name, error),
        )

    def _tested(self, check: RemoteCheck) -> None:
        self._finished()
        name = check.remote.name
        self.notice.show_info(f"{name} answers. {_check_text(check)}")
        before = (self._remote(name), self.capabilities.get(name))
        self.remotes = [check.remote if r.name == name else r for r in self.remotes]
        self.capabilities[name] = check.capabilities
        self._set_row(name, check.latency_s, len(check.models))
        self._selection_changed()
        if before != (check.remote, check.capabilities):  # models come or go in the pickers
            self.remotes_changed.emit()

    def _test_failed(self, name: str, error: BaseException) -> None:
        self._finished()
        remote = self._remote(name)  # None when a refresh found it removed meanwhile
        if remote is not None:
            problem = problem_of(error) if isinstance(error, LanternError) else "server_error"
            self._set_row(name, None, len(remote.models), problem, error_text(error))
        self.notice.show_error(error)

    def remove_selected(self) -> None:
        remote = self.selected_remote()
        if remote is None:
            return
        answer = QMessageBox.question(
            self,
            "Remove remote",
            f"Remove {remote.name} ({remote.url}) and its API key? Its models are no longer "
            "offered; conversations that used them are kept.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._start(f"Removing {remote.name}…")
        lantern = self._lantern
        self._tasks.run(
            lambda: lantern.remotes.remove(remote.name),
            self._removed,
            self._failed,
        )

    def _removed(self, remote: RemovedRemote) -> None:
        self._finished()
        if remote.api_key_left:
            self.notice.show_error(
                f"Removed {remote.name}. Its API key is still in the system keyring: "
                f"{remote.api_key_left}."
            )
        else:
            self.notice.show_info(f"Removed {remote.name} and its API key.")
        self.refresh()
        self.remotes_changed.emit()

    def _remote(self, name: str) -> Remote | None:
        return next((r for r in self.remotes if r.name == name), None)

    def _start(self, message: str) -> None:
        self._busy = True
        self.notice.show_info(message)
        self._update_actions()

    def _finished(self) -> None:
        self._busy = False
        self._update_actions()

    def _failed(self, error: BaseException) -> None:
        self._finished()
        self.notice.show_error(error)


def _check_text(check: RemoteCheck) -> str:
    count = len(check.models)
    return (
        f"It answered in {check.latency_s * 1000:.0f} ms ({check.server} server) and serves "
        f"{count} model{'' if count == 1 else 's'}."
    )
