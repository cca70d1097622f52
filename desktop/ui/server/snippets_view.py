"""Code to call the server with, to copy: a chat request with curl and with the OpenAI client
in Python, at the server's real address, for an installed model. The key is written in only
while the user has it shown; else the code reads it from an environment variable."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.tasks.code_export import ServerAccess, curl_chat_code, openai_chat_code

NO_MODEL = "MODEL-ID"  # in the code until a model is installed

SNIPPETS = {"curl": curl_chat_code, "Python": openai_chat_code}


class SnippetsView(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Use it from a program", parent)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.views: dict[str, QPlainTextEdit] = {}
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for title in SNIPPETS:
            view = QPlainTextEdit()
            view.setReadOnly(True)
            view.setFont(font)
            view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            view.setAccessibleName(f"{title} code")
            self.views[title] = view
            self.tabs.addTab(view, title)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAccessibleName("Copy the code")
        self.copied = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.copied, 1)
        row.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addLayout(row)
        self.copy_button.clicked.connect(lambda _checked=False: self.copy_shown())
        self.tabs.currentChanged.connect(lambda _index: self.copied.clear())

    def show_code(self, access: ServerAccess, model: str | None) -> None:
        for title, code in SNIPPETS.items():
            self.views[title].setPlainText(code(access, model or NO_MODEL))
        self.copied.clear()

    def code(self, title: str) -> str:
        return self.views[title].toPlainText()

    def copy_shown(self) -> str:
        code = self.code(self.tabs.tabText(self.tabs.currentIndex()))
        QGuiApplication.clipboard().setText(code)
        self.copied.setText("Copied.")
        return code
