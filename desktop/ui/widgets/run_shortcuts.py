"""The keys of a page that runs a long job (Summarize, Translate, the Playground): Ctrl+Enter
starts it, Esc stops it, while the focus is in the page."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


def run_shortcuts(
    page: QWidget, run: Callable[[], object], stop: Callable[[], object]
) -> QShortcut:
    """Returns the Esc shortcut: a page enables it only while a run goes, since Esc otherwise
    belongs to its cell editors and dialogs."""
    context = Qt.ShortcutContext.WidgetWithChildrenShortcut
    for keys in ("Ctrl+Return", "Ctrl+Enter"):
        shortcut = QShortcut(QKeySequence(keys), page)
        shortcut.setContext(context)
        shortcut.activated.connect(run)
    escape = QShortcut(QKeySequence("Escape"), page)
    escape.setContext(context)
    escape.activated.connect(stop)
    return escape
