"""The Hub token: entered in a password field, kept in the system keyring (in the
background: a keyring can take a moment, or ask the user to unlock it), or forgotten."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu, QPushButton, QWidget

if TYPE_CHECKING:
    from desktop.ui.bridge import BackgroundTasks

TOKENS_PAGE = "https://huggingface.co/settings/tokens"


def _save(token: str) -> None:
    # Imported here, off the GUI thread: keyring's import is slow.
    from desktop.models.hub_token import save_token

    save_token(token)


def _forget() -> bool:
    from desktop.models.hub_token import forget_token

    return forget_token()


class HubTokenButton(QPushButton):
    message = Signal(str, bool)  # what happened, whether it is an error

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self.setText("Hub token")
        self.setToolTip(
            "A Hugging Face access token lets Lantern download gated models your account may use"
        )
        menu = QMenu(self)
        self.enter_action = menu.addAction("Enter token…", self.enter_token)
        self.forget_action = menu.addAction("Forget token", self.forget_token)
        self.setMenu(menu)

    def enter_token(self) -> None:
        token, ok = QInputDialog.getText(
            self,
            "Hugging Face token",
            f"Paste an access token from {TOKENS_PAGE}.\n"
            "Lantern keeps it in the system keyring, never in a file.",
            QLineEdit.EchoMode.Password,
        )
        token = token.strip()
        if not ok or not token:
            return
        self._tasks.run(
            lambda: _save(token),
            lambda _none: self.message.emit(
                "Hub token saved. Gated models your account may use can now be downloaded.",
                False,
            ),
            lambda error: self.message.emit(error, True),
        )

    def forget_token(self) -> None:
        self._tasks.run(
            _forget,
            lambda had: self.message.emit(
                "Hub token removed." if had else "No Hub token was saved.", False
            ),
            lambda error: self.message.emit(error, True),
        )
