"""The saved sessions of a tool (summaries, translations, Playground runs), as every caller
sees them: listed newest first (with a search), read one by one, deleted. One implementation
over the store's SessionStore (store/sessions.py); each tool's service adds what reading one
of its sessions gives (`session`)."""

from __future__ import annotations

from typing import Generic, TypeVar

from desktop.store.sessions import SessionStore

RecordT = TypeVar("RecordT")


class SessionService(Generic[RecordT]):
    def __init__(self, store: SessionStore[RecordT]) -> None:
        self._store = store

    def sessions(self, query: str = "") -> list[RecordT]:
        """The saved sessions, newest first; with a query, those that have its words."""
        return self._store.recent(query)

    def delete(self, session_id: int) -> None:
        self._store.delete(session_id)
