"""The server's API key: masked unless the user asks to see it, copied to the clipboard, made
anew (after a confirmation: programs using the old one stop working). It lives in the system
keyring, which is read and written in the background: a keyring can take a moment, or ask the
user to unlock it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.widgets.notice import Notice

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks


class ApiKeyBox(QGroupBox):
    key_shown = Signal(object)  # the key while it is shown; None while it is hidden or unknown

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__("API key", parent)
        self._lantern = lantern
        self._tasks = tasks
        self._key: str | None = None
        self._reading = False
        self.field = QLineEdit()
        self.field.setReadOnly(True)
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setAccessibleName("API key")
        self.field.setPlaceholderText("Read from the system keyring…")
        self.show_button = QPushButton("Show")
        self.show_button.setAccessibleName("Show the API key")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAccessibleName("Copy the API key")
        self.regenerate_button = QPushButton("Regenerate…")
        self.regenerate_button.setAccessibleName("Regenerate the API key")
        self.regenerate_button.setToolTip("A new key: programs using the old one stop working")
        self.notice = Notice()
        row = QHBoxLayout()
        row.addStretch(1)
        for button in (self.show_button, self.copy_button, self.regenerate_button):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.field)
        layout.addLayout(row)
        layout.addWidget(self.notice)
        self.show_button.clicked.connect(lambda _checked=False: self.toggle_shown())
        self.copy_button.clicked.connect(lambda _checked=False: self.copy())
        self.regenerate_button.clicked.connect(lambda _checked=False: self.regenerate())
        self._update_buttons()

    def key(self) -> str | None:
        return self._key

    def is_shown(self) -> bool:
        return self.field.echoMode() == QLineEdit.EchoMode.Normal

    def load(self) -> None:
        """Read the key (made and kept in the keyring if there is none yet)."""
        if self._key is not None or self._reading:
            return
        self._reading = True
        lantern = self._lantern  # its parts are built on first use: in the task
        self._tasks.run(lambda: lantern.serving.keys.current(), self._got_key, self._failed)

    def toggle_shown(self) -> None:
        shown = not self.is_shown()
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.field.setEchoMode(mode)
        self.show_button.setText("Hide" if shown else "Show")
        self.show_button.setAccessibleName("Hide the API key" if shown else "Show the API key")
        self.key_shown.emit(self._key if shown else None)

    def copy(self) -> None:
        if self._key is not None:
            QGuiApplication.clipboard().setText(self._key)
            self.notice.show_info("The key is on the clipboard.")

    def regenerate(self) -> None:
        answer = QMessageBox.question(
            self,
            "Regenerate the API key",
            "Make a new API key? Programs that use the old one stop working until they are "
            "given the new one.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._reading = True
        self._update_buttons()
        lantern = self._lantern
        self._tasks.run(lambda: lantern.serving.keys.regenerate(), self._regenerated, self._failed)

    def _got_key(self, key: str) -> None:
        self._reading = False
        self._key = key
        self.field.setText(key)
        self.notice.clear_message()
        self._update_buttons()
        self.key_shown.emit(key if self.is_shown() else None)

    def _regenerated(self, key: str) -> None:
        self._got_key(key)
        self.notice.show_info("A new key is in place: the old one no longer opens the server.")

    def _failed(self, error: BaseException) -> None:
        self._reading = False
        self.notice.show_error(error)
        self._update_buttons()

    def _update_buttons(self) -> None:
        known = self._key is not None and not self._reading
        self.show_button.setEnabled(known)
        self.copy_button.setEnabled(known)
        self.regenerate_button.setEnabled(not self._reading)
