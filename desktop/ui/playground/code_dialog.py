"""Copy as code: the run's request as a llama-cpp-python script and as an OpenAI-client
call to a local OpenAI-compatible server, to copy into a program of one's own."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.tasks.code_export import CodeRequest, llama_cpp_python_code, openai_client_code


class CodeDialog(QDialog):
    def __init__(self, request: CodeRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Copy as code")
        self.resize(760, 560)
        self.tabs = QTabWidget()
        self.codes: dict[str, str] = {
            "llama-cpp-python": llama_cpp_python_code(request),
            "OpenAI client": openai_client_code(request),
        }
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for title, code in self.codes.items():
            view = QPlainTextEdit(code)
            view.setReadOnly(True)
            view.setFont(font)
            view.setAccessibleName(f"{title} code")
            self.tabs.addTab(view, title)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAccessibleName("Copy code")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(lambda _checked=False: self.copy_shown())
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)

    def copy_shown(self) -> str:
        code = self.codes[self.tabs.tabText(self.tabs.currentIndex())]
        QGuiApplication.clipboard().setText(code)
        self.copy_button.setText("Copied")
        return code
