"""The web pages that may call the server from a browser (CORS), as origins: none by default;
each one the user adds is checked as the server checks it, and '*' is refused with the
reason (every web page the user visits could use the server)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLineEdit,
    QListWidget,
    QPushButton,
    QWidget,
)

from desktop.errors import ServerOptionInvalid
from desktop.server.hosts import checked_origins
from desktop.ui.widgets.notice import Notice


class OriginsBox(QGroupBox):
    changed = Signal()  # an origin was added or removed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Web pages allowed to call it (CORS)", parent)
        self.list = QListWidget()
        self.list.setAccessibleName("Allowed origins")
        self.list.setMaximumHeight(90)
        self.entry = QLineEdit()
        self.entry.setAccessibleName("Origin to allow")
        self.entry.setPlaceholderText("http://localhost:3000")
        self.add_button = QPushButton("Allow")
        self.add_button.setAccessibleName("Allow the origin")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAccessibleName("Remove the selected origin")
        self.notice = Notice()
        layout = QGridLayout(self)
        layout.addWidget(self.list, 0, 0, 1, 2)
        layout.addWidget(self.remove_button, 0, 2)
        layout.addWidget(self.entry, 1, 0, 1, 2)
        layout.addWidget(self.add_button, 1, 2)
        layout.addWidget(self.notice, 2, 0, 1, 3)
        self.add_button.clicked.connect(lambda _checked=False: self.add())
        self.entry.returnPressed.connect(self.add)
        self.remove_button.clicked.connect(lambda _checked=False: self.remove_selected())
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        self._update_buttons()

    def origins(self) -> tuple[str, ...]:
        return tuple(self.list.item(row).text() for row in range(self.list.count()))

    def set_origins(self, origins: tuple[str, ...]) -> None:
        self.list.clear()
        self.list.addItems(list(origins))
        self._update_buttons()

    def add(self) -> None:
        text = self.entry.text().strip()
        if not text:
            return
        try:
            (origin,) = checked_origins([text])
        except ServerOptionInvalid as refused:
            self.notice.show_error(refused)
            return
        self.notice.clear_message()
        self.entry.clear()
        if origin not in self.origins():
            self.list.addItem(origin)
            self.changed.emit()
        self._update_buttons()

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
            self.changed.emit()
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.list.currentRow() >= 0)
