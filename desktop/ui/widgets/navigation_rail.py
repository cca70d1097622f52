"""The narrow column of page buttons along the window's left edge."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QButtonGroup, QFrame, QToolButton, QVBoxLayout, QWidget

RAIL_WIDTH = 92  # room for "Summarize" and "Translate" under their icons


class NavigationRail(QFrame):
    page_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Pages")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFixedWidth(RAIL_WIDTH)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._group.idClicked.connect(self.page_chosen)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 8, 6, 8)
        self._layout.setSpacing(4)
        self._layout.addStretch(1)

    def add_page(self, text: str, icon: QIcon, shortcut: str) -> QToolButton:
        """A button for the next page; `shortcut` is only shown (the window binds the keys)."""
        button = QToolButton()
        button.setText(text)
        button.setIcon(icon)
        button.setIconSize(QSize(24, 24))
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        button.setCheckable(True)
        button.setAutoRaise(True)
        button.setFixedWidth(RAIL_WIDTH - 12)
        button.setToolTip(f"{text} ({shortcut})")
        button.setAccessibleName(text)
        self._group.addButton(button, len(self._group.buttons()))
        self._layout.insertWidget(self._layout.count() - 1, button)
        return button

    def set_current(self, index: int) -> None:
        """Show `index` as the current page, without announcing it as a choice."""
        button = self._group.button(index)
        if button is not None:
            button.setChecked(True)
