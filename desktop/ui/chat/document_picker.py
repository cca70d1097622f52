"""The chat's library picker: which of the user's libraries a conversation answers from, and
whether only from them ("Only from my documents": nothing relevant found, the answer says so
instead of guessing). A button that reads "Documents: none" or "Documents: Notes, Reports"
and opens a menu of the libraries, each checkable; the menu stays open while libraries are
ticked, so several are chosen in one go.

The picker only shows and reports: the owner lists the libraries (`show_libraries`, read in
the background; `libraries_wanted` asks for a fresh list as the menu opens), shows a
conversation's choice (`set_choice`) and saves what the user picks (`chosen`).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QMouseEvent
from PySide6.QtWidgets import QMenu, QPushButton, QWidget

from desktop.services.chat import DocumentChoice

NO_DOCUMENTS = DocumentChoice(libraries=(), documents_only=False)
ONLY_DOCUMENTS = "Only from my documents"
NO_LIBRARIES = "No libraries yet: add documents on the Documents page"
SHOWN_NAMES = 2  # names the button spells out; the rest are counted


def choice_label(choice: DocumentChoice) -> str:
    """What the button reads: "Documents: none", "Documents: Notes, Reports +1"."""
    names = choice.libraries
    if not names:
        return "Documents: none"
    shown = ", ".join(names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    label = f"Documents: {shown} +{more}" if more > 0 else f"Documents: {shown}"
    return f"{label} (only)" if choice.documents_only else label


class StayingMenu(QMenu):
    """A menu that stays open when a checkable item is clicked: several can be ticked."""

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        action = self.activeAction()
        if action is not None and action.isCheckable() and action.isEnabled():
            action.trigger()
            return
        super().mouseReleaseEvent(event)


class DocumentPicker(QPushButton):
    chosen = Signal(object)  # the DocumentChoice the user made
    libraries_wanted = Signal()  # the menu opens: list the libraries again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Documents to answer from")
        self.setToolTip(
            "The libraries this conversation answers from (set them up on the Documents page)"
        )
        self._menu = StayingMenu(self)
        self._menu.aboutToShow.connect(self.libraries_wanted)
        self.setMenu(self._menu)
        self._libraries: tuple[str, ...] = ()
        self._choice = NO_DOCUMENTS
        self._fill()

    def choice(self) -> DocumentChoice:
        return self._choice

    def library_actions(self) -> dict[str, QAction]:
        """The menu's library items, by name."""
        return {
            action.text(): action
            for action in self._menu.actions()
            if action.isCheckable() and action.text() != ONLY_DOCUMENTS
        }

    def documents_only_action(self) -> QAction:
        (action,) = (a for a in self._menu.actions() if a.text() == ONLY_DOCUMENTS)
        return action

    def show_libraries(self, names: Sequence[str]) -> None:
        """The libraries there are (a library of the choice that is gone is still listed,
        ticked, until the choice drops it)."""
        if tuple(names) != self._libraries:
            self._libraries = tuple(names)
            self._fill()

    def set_choice(self, choice: DocumentChoice) -> None:
        """Shows `choice` (a conversation's, or a new chat's) without reporting it."""
        self._choice = choice
        self._fill()

    def _fill(self) -> None:
        menu = self._menu
        menu.clear()
        chosen = self._choice.libraries
        names = list(self._libraries) + [n for n in chosen if n not in self._libraries]
        for name in names:
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name in chosen)
            action.toggled.connect(lambda on, name=name: self._library_toggled(name, on))
        if not names:
            menu.addAction(NO_LIBRARIES).setEnabled(False)
        menu.addSeparator()
        only = menu.addAction(ONLY_DOCUMENTS)
        only.setCheckable(True)
        only.setChecked(self._choice.documents_only)
        only.setEnabled(bool(chosen))
        only.setToolTip("Answer only from these libraries; say so when they hold nothing on it")
        only.toggled.connect(self._documents_only_toggled)
        self.setText(choice_label(self._choice))

    def _library_toggled(self, name: str, on: bool) -> None:
        names = [n for n in self._choice.libraries if n != name]
        if on:
            names.append(name)
        # In the menu's order, whatever order they were ticked in.
        order = [a.text() for a in self._menu.actions()]
        names.sort(key=order.index)
        self._choose(DocumentChoice(tuple(names), self._choice.documents_only and bool(names)))

    def _documents_only_toggled(self, on: bool) -> None:
        self._choose(DocumentChoice(self._choice.libraries, on))

    def _choose(self, choice: DocumentChoice) -> None:
        self._choice = choice
        # Only what depends on the choice changes: the menu stays open on the same items.
        self.setText(choice_label(choice))
        only = self.documents_only_action()
        blocked = only.blockSignals(True)  # no libraries, no "only": one choice reported
        only.setChecked(choice.documents_only)
        only.setEnabled(bool(choice.libraries))
        only.blockSignals(blocked)
        self.chosen.emit(choice)
