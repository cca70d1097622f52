"""The dialog that adds a remote engine: its name, its URL and its API key (a password field).
It stays open while the connection is tested, and says there what went wrong; the Remote
view does the testing (in the background) and closes it once the remote is added."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.widgets.notice import Notice


class AddRemoteDialog(QDialog):
    add_requested = Signal(str, str, str)  # name, URL, API key ("" for none)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a remote engine")
        self.name_field = QLineEdit()
        self.name_field.setPlaceholderText("gpu-server")
        self.name_field.setMaxLength(40)
        self.url_field = QLineEdit()
        self.url_field.setPlaceholderText("http://192.168.1.20:8000")
        self.key_field = QLineEdit()
        self.key_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_field.setPlaceholderText("none")
        form = QFormLayout()
        form.addRow("&Name:", self.name_field)
        form.addRow("&URL:", self.url_field)
        form.addRow("API &key:", self.key_field)
        hint = QLabel(
            "An OpenAI-compatible server: vLLM, llama.cpp's llama-server, Ollama, LM Studio… "
            "Lantern tests the connection before adding it, and keeps the key in the system "
            "keyring, never in a file."
        )
        hint.setWordWrap(True)
        self.notice = Notice()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.add_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert isinstance(self.add_button, QPushButton)
        self.add_button.setText("Test and add")
        self.buttons.accepted.connect(self._add)
        self.buttons.rejected.connect(self.reject)
        self._busy = False
        for field in (self.name_field, self.url_field):
            field.textChanged.connect(self._update_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.notice)
        layout.addWidget(self.buttons)
        self._update_button()

    def testing(self, busy: bool) -> None:
        """While the connection is tested: nothing to change, nothing to press twice, and no
        Cancel (the remote is added if the test passes; cancelling could not undo that)."""
        self._busy = busy
        for field in (self.name_field, self.url_field, self.key_field):
            field.setReadOnly(busy)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setEnabled(not busy)
        if busy:
            self.notice.show_info(f"Testing the connection to {self.url_field.text().strip()}…")
        self._update_button()

    def show_error(self, error: BaseException) -> None:
        self.testing(False)
        self.notice.show_error(error)

    def reject(self) -> None:  # Escape too
        if not self._busy:
            super().reject()

    def done(self, result: int) -> None:
        self.key_field.clear()  # the key is in the keyring now, or not wanted: not kept here
        super().done(result)

    def _add(self) -> None:
        self.add_requested.emit(
            self.name_field.text().strip(),
            self.url_field.text().strip(),
            self.key_field.text().strip(),
        )

    def _update_button(self) -> None:
        filled = bool(self.name_field.text().strip() and self.url_field.text().strip())
        self.add_button.setEnabled(filled and not self._busy)
