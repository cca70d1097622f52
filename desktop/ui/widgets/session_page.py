"""What every page with saved sessions (Summarize, Translate, the Playground) does with them,
written once: `SavedSessions`, the history list on the left of the page (`history`, a
`SessionHistory`) with the controller between it and the store.

It keeps the list in step with the store (reads can end out of order: only the latest one is
shown), opens the session clicked (the last one asked for wins; none while a run goes),
starts a new one, deletes one once the user agrees, and writes an export in the background.
The page hands it the tool's service (services/sessions.py: sessions, session, delete),
called in the background only, and what it calls its sessions; as the `SessionOwner`, the
page shows a session read, clears itself for a new one, and words a history line:

    TRANSLATIONS = SessionWords("translation", "translations", "Delete “{title}”? ...")
    self.sessions = SavedSessions(self, tasks, self.notice, lambda: lantern.translate, TRANSLATIONS)
    splitter.addWidget(self.sessions.history)

The page's own code then calls `sessions.set_current(id)` when a run makes a session, and
`sessions.refresh()` when one changes; the history's buttons and list call the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox

from desktop.tasks.document_export import ExportFormat
from desktop.ui.widgets.export_dialog import choose_export_file
from desktop.ui.widgets.notice import Notice
from desktop.ui.widgets.session_history import HistoryRow, SessionHistory

if TYPE_CHECKING:
    from desktop.ui.bridge import BackgroundTasks

RecordT = TypeVar("RecordT")
SessionT = TypeVar("SessionT")
RecordT_co = TypeVar("RecordT_co", covariant=True)
SessionT_co = TypeVar("SessionT_co", covariant=True)
RecordT_contra = TypeVar("RecordT_contra", contravariant=True)
SessionT_contra = TypeVar("SessionT_contra", contravariant=True)


@dataclass(frozen=True)
class SessionWords:
    """What a page calls its sessions, and asks before it deletes one."""

    noun: str  # "summary"
    plural: str  # "summaries"
    delete_question: str | None  # "{title}" in it is the session's; None: delete at once


# What the writing tools export to: format -> its line in the save dialog's list of types.
DOCUMENT_FORMATS: dict[ExportFormat, str] = {
    "md": "Markdown (*.md)",
    "txt": "Plain text (*.txt)",
    "docx": "Word document (*.docx)",
}


class SessionService(Protocol[RecordT_co, SessionT_co]):
    """The tool's side (services/sessions.py), called in the background."""

    def sessions(self, query: str = "", /) -> Sequence[RecordT_co]: ...

    def session(self, session_id: int, /) -> SessionT_co:
        """All that the page shows of a session."""
        ...

    def delete(self, session_id: int, /) -> None: ...


class SessionOwner(Protocol[RecordT_contra, SessionT_contra]):
    """The page's side."""

    def is_running(self) -> bool: ...

    def history_row(self, record: RecordT_contra) -> HistoryRow: ...

    def show_session(self, session: SessionT_contra) -> None: ...

    def clear_session(self) -> None:
        """Empty the page for a new session."""

    def session_deleted(self, session_id: int, *, shown: bool) -> None:
        """A session is gone from the store; `shown`: it was the one shown."""


class SavedSessions(QObject, Generic[RecordT, SessionT]):
    history_shown = Signal()  # the list shows what the store has
    exported = Signal(object)  # the Path written

    def __init__(
        self,
        owner: SessionOwner[RecordT, SessionT],
        tasks: BackgroundTasks,
        notice: Notice,
        service: Callable[[], SessionService[RecordT, SessionT]],
        words: SessionWords,
    ) -> None:
        """`owner`: the page; `notice` says what went wrong; `service` gives the tool's
        service (in the background: it may be built on first use)."""
        history = SessionHistory(words.noun, words.plural)
        super().__init__(history)
        self.history = history
        self._owner, self._service, self._words = owner, service, words
        self._tasks, self._notice = tasks, notice
        history.search_changed.connect(lambda _query: self.refresh())
        history.opened.connect(self.open)
        history.new_requested.connect(self.new)
        history.delete_requested.connect(self.delete)
        self._generation = 0  # of the latest read of the list
        self._opening = 0  # of the latest session asked for: only its read is shown
        self._wanted: int | None = None  # the session asked for, or shown
        self.current: int | None = None  # the session shown

    def refresh(self) -> None:
        """Read the list again (the search as typed); the session shown stays selected."""
        service, query = self._service, self.history.query()
        self._generation += 1
        generation = self._generation
        self._tasks.run(
            lambda: service().sessions(query),
            lambda records: self._show_rows(generation, records),
            self._notice.show_error,
        )

    def _show_rows(self, generation: int, records: Sequence[RecordT]) -> None:
        if generation != self._generation:
            return  # a later read is on its way
        rows = [self._owner.history_row(record) for record in records]
        self.history.show_rows(rows, self.current)
        self.history_shown.emit()

    def set_current(self, session_id: int | None) -> None:
        """The page shows this session now (a run made it), or none."""
        self._opening += 1  # a session on its way is not wanted any more
        self.current = self._wanted = session_id
        if session_id is None:
            self.history.clear_selection()
        else:
            self.history.select(session_id)

    def open(
        self,
        session_id: int,
        *,
        again: bool = False,
        show: Callable[[SessionT], None] | None = None,
    ) -> None:
        """Read a session and show it (`show`, or the owner's show_session); `again`: even if
        it is the one shown."""
        if self._owner.is_running():
            self._notice.show_error("Stop the run before opening another one.")
            return
        if session_id == self._wanted and not again:
            return  # shown, or on its way (a click and an activation both ask)
        self._wanted = session_id
        self._opening += 1
        opening, service, show = self._opening, self._service, show or self._owner.show_session
        self._tasks.run(
            lambda: service().session(session_id),
            lambda session: self._read(opening, session_id, session, show),
            lambda error: self._open_failed(opening, error),
        )

    def _read(
        self, opening: int, session_id: int, session: SessionT, show: Callable[[SessionT], None]
    ) -> None:
        if opening != self._opening or self._owner.is_running():
            return  # something else was asked for meanwhile, or a run writes the page now
        self.current = session_id
        self.history.select(session_id)
        show(session)

    def _open_failed(self, opening: int, error: BaseException) -> None:
        if opening == self._opening:
            self._wanted = self.current  # another click may try again
        self._notice.show_error(error)

    def new(self) -> None:
        if self._owner.is_running():
            return
        self.set_current(None)
        self._owner.clear_session()

    def delete(self, session_id: int) -> None:
        """Delete a session once the user agrees."""
        if self._owner.is_running():
            self._notice.show_error("Stop the run before deleting a saved one.")
            return
        if not self.confirm_delete(session_id):
            return
        service = self._service
        self._tasks.run(
            lambda: service().delete(session_id),
            lambda _none: self._deleted(session_id),
            self._notice.show_error,
        )

    def confirm_delete(self, session_id: int) -> bool:
        question = self._words.delete_question
        if question is None:
            return True
        title = self.history.title_of(session_id) or ""
        answer = QMessageBox.question(
            self.history,
            f"Delete {self._words.noun}",
            question.format(title=title),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _deleted(self, session_id: int) -> None:
        shown = session_id == self.current
        if shown:
            self.set_current(None)
        self._owner.session_deleted(session_id, shown=shown)
        self.refresh()

    # ---- export ----

    def choose_export(
        self,
        title: str,
        suggested_name: str,
        formats: Mapping[ExportFormat, str] = DOCUMENT_FORMATS,
    ) -> tuple[Path, ExportFormat] | None:
        """Ask where to save the session shown, and as what."""
        return choose_export_file(self.history, title, suggested_name, formats)

    def export(self, path: Path, write: Callable[[], object], notice: Notice) -> None:
        """Write an export in the background (`write`: the service's export_file), saying
        where to in `notice`."""
        notice.show_info(f"Exporting to {path.name}…")
        self._tasks.run(write, lambda _none: self._exported(path, notice), notice.show_error)

    def _exported(self, path: Path, notice: Notice) -> None:
        notice.show_info(f"Exported to {path}.")
        self.exported.emit(path)
