"""Reads and writes of conversations and messages (with the sources an answer from documents
was given, and the libraries a conversation asks). Everything returned is a plain dataclass."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from desktop.errors import ConversationNotFound, LibraryNotFound
from desktop.store.db import Database
from desktop.store.records import plain_record
from desktop.store.schema import (
    Conversation,
    ConversationLibrary,
    Library,
    Message,
    utc_now,
)
from desktop.store.schema import MessageSource as MessageSourceRow

# A message's status: an answer is "streaming" while it is written (by the process in its
# writer_pid), then says how it ended. A user's message is "complete".
MessageStatus = Literal["streaming", "complete", "stopped", "interrupted", "failed"]


@dataclass(frozen=True)
class ConversationRecord:
    id: int
    title: str
    model_id: str | None
    system_prompt: str | None
    created_at: datetime
    updated_at: datetime
    message_count: int = 0
    pinned: bool = False
    sampling: dict[str, Any] | None = None
    context_policy: str = "drop_middle"
    current_leaf_id: int | None = None
    documents_only: bool = False  # answers only from its libraries (ConversationRepository)


@dataclass(frozen=True)
class MessageSource:
    """A passage an answer was given, numbered as the answer cites it ([1]): a copy of the
    passage as it was then (`start`:`end` in its file's text), with the score that ranked it."""

    number: int
    path: str
    page: int | None
    heading: str
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class MessageRecord:
    id: int
    conversation_id: int
    parent_id: int | None
    role: str
    content: str
    status: MessageStatus
    model_id: str | None
    stats: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    sources: tuple[MessageSource, ...] = ()  # an answer from documents: what it was given


@dataclass(frozen=True)
class NewMessage:
    """A message of an imported conversation; `key` and `parent` are the file's own ids."""

    key: int
    parent: int | None
    role: str
    content: str
    status: MessageStatus = "complete"
    model_id: str | None = None
    stats: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class NewConversation:
    title: str
    messages: tuple[NewMessage, ...]
    system_prompt: str | None = None
    model_id: str | None = None
    pinned: bool = False
    sampling: dict[str, Any] | None = None
    context_policy: str = "drop_middle"
    current_leaf: int | None = None  # a message key
    created_at: datetime | None = None
    updated_at: datetime | None = None


def _conversation(row: Conversation, message_count: int = 0) -> ConversationRecord:
    return plain_record(ConversationRecord, row, message_count=message_count)


def _message(row: Message, sources: Sequence[MessageSource] = ()) -> MessageRecord:
    # The status is written only as a MessageStatus (an import is checked first).
    return plain_record(
        MessageRecord, row, status=cast(MessageStatus, row.status), sources=tuple(sources)
    )


def _messages(session: Session, rows: Iterable[Message]) -> list[MessageRecord]:
    """The rows as records, each with its sources (read in one query for them all)."""
    rows = list(rows)
    sources: dict[int, list[MessageSource]] = {}
    if rows:
        query = (
            select(MessageSourceRow)
            .where(MessageSourceRow.message_id.in_([row.id for row in rows]))
            .order_by(MessageSourceRow.message_id, MessageSourceRow.number)
        )
        for source in session.scalars(query):
            sources.setdefault(source.message_id, []).append(plain_record(MessageSource, source))
    return [_message(row, sources.get(row.id, ())) for row in rows]


def _add_sources(session: Session, message_id: int, sources: Sequence[MessageSource]) -> None:
    session.add_all(MessageSourceRow(message_id=message_id, **asdict(s)) for s in sources)


class ConversationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        title: str,
        *,
        model_id: str | None = None,
        system_prompt: str | None = None,
        libraries: Sequence[str] = (),
        documents_only: bool = False,
    ) -> ConversationRecord:
        """A new conversation, answering from `libraries` (LibraryNotFound for one that is
        not there, and no conversation is made)."""
        with self._db.session() as session:
            row = Conversation(title=title, model_id=model_id, system_prompt=system_prompt)
            session.add(row)
            session.flush()
            _set_documents(session, row, libraries, documents_only)
            return _conversation(row)

    def get(self, conversation_id: int) -> ConversationRecord:
        with self._db.session() as session:
            row = session.get(Conversation, conversation_id)
            if row is None or row.deleted_at is not None:
                raise ConversationNotFound(f"There is no conversation {conversation_id}.")
            count = session.scalar(
                select(func.count()).where(Message.conversation_id == conversation_id)
            )
            return _conversation(row, count or 0)

    def list(self, limit: int | None = None) -> list[ConversationRecord]:
        counts = (
            select(Message.conversation_id, func.count().label("n"))
            .group_by(Message.conversation_id)
            .subquery()
        )
        query = (
            select(Conversation, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.conversation_id == Conversation.id)
            .where(Conversation.deleted_at.is_(None))
            .order_by(
                Conversation.pinned.desc(), Conversation.updated_at.desc(), Conversation.id.desc()
            )
            .limit(limit)
        )
        with self._db.session() as session:
            return [_conversation(row, n) for row, n in session.execute(query).all()]

    def set_model(self, conversation_id: int, model_id: str) -> None:
        with self._db.session() as session:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(model_id=model_id, updated_at=utc_now())
            )

    def insert(self, new: NewConversation) -> ConversationRecord:
        """An imported conversation with all its branches, in one transaction."""
        with self._db.session() as session:
            row = Conversation(
                title=new.title,
                system_prompt=new.system_prompt,
                model_id=new.model_id,
                pinned=new.pinned,
                sampling=new.sampling,
                context_policy=new.context_policy,
                created_at=new.created_at or utc_now(),
                updated_at=new.updated_at or utc_now(),
            )
            session.add(row)
            session.flush()
            ids: dict[int, int] = {}
            for message in new.messages:  # parents come first in a well-formed file
                added = Message(
                    conversation_id=row.id,
                    parent_id=ids[message.parent] if message.parent is not None else None,
                    role=message.role,
                    content=message.content,
                    status=message.status,
                    model_id=message.model_id,
                    stats=message.stats,
                    error=message.error,
                    created_at=message.created_at or utc_now(),
                    updated_at=message.updated_at or utc_now(),
                )
                session.add(added)
                session.flush()
                ids[message.key] = added.id
            if new.current_leaf is not None:
                row.current_leaf_id = ids[new.current_leaf]
            conversation_id = row.id
        return self.get(conversation_id)

    def change(self, conversation_id: int, **values: Any) -> ConversationRecord:
        """Set title, pinned, system_prompt, sampling, context_policy or current_leaf_id."""
        with self._db.session() as session:
            row = session.get(Conversation, conversation_id)
            if row is None or row.deleted_at is not None:
                raise ConversationNotFound(f"There is no conversation {conversation_id}.")
            for key, value in values.items():
                setattr(row, key, value)
            session.flush()
        return self.get(conversation_id)

    def delete(self, conversation_id: int) -> None:
        """Hide the conversation; `restore` brings it back until `purge_deleted` runs."""
        self.get(conversation_id)
        with self._db.session() as session:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(deleted_at=utc_now())
            )

    def restore(self, conversation_id: int) -> ConversationRecord:
        with self._db.session() as session:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(deleted_at=None)
            )
        return self.get(conversation_id)

    def purge_deleted(self, older_than: timedelta | None = None) -> int:
        """Remove deleted conversations for good (all, or those deleted longer ago)."""
        with self._db.session() as session:
            query = select(Conversation).where(Conversation.deleted_at.is_not(None))
            if older_than is not None:
                query = query.where(Conversation.deleted_at < utc_now() - older_than)
            rows = list(session.scalars(query))
            for row in rows:
                session.delete(row)  # its messages go by the foreign key's cascade
            return len(rows)

    def libraries(self, conversation_id: int) -> tuple[str, ...]:
        """The names of the libraries the conversation answers from."""
        with self._db.session() as session:
            return tuple(
                session.scalars(
                    select(Library.name)
                    .join(ConversationLibrary, ConversationLibrary.library_id == Library.id)
                    .where(ConversationLibrary.conversation_id == conversation_id)
                    .order_by(Library.name)
                )
            )

    def set_documents(
        self, conversation_id: int, libraries: Sequence[str], *, documents_only: bool
    ) -> ConversationRecord:
        """The libraries the conversation answers from (by name; LibraryNotFound for one that
        is not there, and nothing changes) and whether it answers only from them."""
        with self._db.session() as session:
            row = session.get(Conversation, conversation_id)
            if row is None or row.deleted_at is not None:
                raise ConversationNotFound(f"There is no conversation {conversation_id}.")
            _set_documents(session, row, libraries, documents_only)
        return self.get(conversation_id)

    def touch(self, conversation_id: int) -> None:
        with self._db.session() as session:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(updated_at=utc_now())
            )


def _set_documents(
    session: Session, row: Conversation, libraries: Sequence[str], documents_only: bool
) -> None:
    wanted = set(libraries)
    ids: dict[str, int] = {
        name: library_id
        for name, library_id in session.execute(
            select(Library.name, Library.id).where(Library.name.in_(wanted))
        )
    }
    missing = sorted(wanted - ids.keys())
    if missing:  # worded as DocumentStore.library words it
        names = ", ".join(f"'{name}'" for name in session.scalars(select(Library.name)))
        raise LibraryNotFound(
            f"There is no library called '{missing[0]}'. Libraries: {names or 'none yet'}."
        )
    session.execute(
        delete(ConversationLibrary).where(ConversationLibrary.conversation_id == row.id)
    )
    session.add_all(
        ConversationLibrary(conversation_id=row.id, library_id=library_id)
        for library_id in ids.values()
    )
    row.documents_only = documents_only


class MessageRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self,
        conversation_id: int,
        role: str,
        content: str,
        *,
        parent_id: int | None,
        status: MessageStatus = "complete",
        model_id: str | None = None,
    ) -> MessageRecord:
        """Insert and commit at once: a message is on disk before anything else happens."""
        with self._db.session() as session:
            row = Message(
                conversation_id=conversation_id,
                parent_id=parent_id,
                role=role,
                content=content,
                status=status,
                model_id=model_id,
                writer_pid=os.getpid() if status == "streaming" else None,
            )
            session.add(row)
            session.flush()
            # A new message ends the branch the conversation shows.
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(updated_at=utc_now(), current_leaf_id=row.id)
            )
            return _message(row)

    def save_partial(
        self, message_id: int, content: str, *, sources: Sequence[MessageSource] = ()
    ) -> None:
        """Flush the text of an answer that is still streaming (with its sources, the first
        time: in the same transaction as its text)."""
        with self._db.session() as session:
            session.execute(update(Message).where(Message.id == message_id).values(content=content))
            _add_sources(session, message_id, sources)

    def finish(
        self,
        message_id: int,
        *,
        content: str,
        status: MessageStatus,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
        sources: Sequence[MessageSource] = (),
    ) -> MessageRecord:
        """The answer as it ended; `sources` those not saved with a flush of its text."""
        with self._db.session() as session:
            row = session.get_one(Message, message_id)
            row.content, row.status, row.stats, row.error = content, status, stats, error
            row.writer_pid = None
            _add_sources(session, message_id, sources)
            session.flush()
            return _messages(session, [row])[0]

    def resume(self, message_id: int) -> MessageRecord:
        """An answer cut short is being written again: streaming, by this process."""
        with self._db.session() as session:
            row = session.get_one(Message, message_id)
            row.status, row.error, row.writer_pid = "streaming", None, os.getpid()
            session.flush()
            return _messages(session, [row])[0]

    def get(self, message_id: int) -> MessageRecord:
        with self._db.session() as session:
            return _messages(session, [session.get_one(Message, message_id)])[0]

    def thread(self, conversation_id: int) -> list[MessageRecord]:
        """The conversation as it reads now: the branch shown, from its first message."""
        with self._db.session() as session:
            rows = self._rows(session, conversation_id)
            if not rows:
                return []
            leaf_id = session.scalar(
                select(Conversation.current_leaf_id).where(Conversation.id == conversation_id)
            )
            leaf = rows.get(leaf_id) if leaf_id else None
            leaf = leaf or max(rows.values(), key=lambda m: (m.created_at, m.id))
            path: list[Message] = []
            current: Message | None = leaf
            while current is not None:
                path.append(current)
                current = rows.get(current.parent_id) if current.parent_id else None
            return _messages(session, path[::-1])

    def path_to(self, message_id: int) -> list[MessageRecord]:
        """The messages from the first one down to this one, through its parents."""
        with self._db.session() as session:
            path: list[Message] = []
            current: Message | None = session.get_one(Message, message_id)
            while current is not None:
                path.append(current)
                current = session.get(Message, current.parent_id) if current.parent_id else None
            return _messages(session, path[::-1])

    def all(self, conversation_id: int) -> list[MessageRecord]:
        """Every message of every branch, oldest first."""
        with self._db.session() as session:
            rows = self._rows(session, conversation_id)
            return _messages(session, sorted(rows.values(), key=lambda m: m.id))

    def siblings(self, message_id: int) -> list[MessageRecord]:
        """The message and the others that answer (or follow) the same message, oldest first:
        the branches at this point of the conversation."""
        with self._db.session() as session:
            message = session.get_one(Message, message_id)
            parent = (
                Message.parent_id.is_(None)
                if message.parent_id is None
                else Message.parent_id == message.parent_id
            )
            rows = session.scalars(
                select(Message)
                .where(Message.conversation_id == message.conversation_id, parent)
                .order_by(Message.id)
            )
            return _messages(session, rows)

    def newest_leaf_under(self, message_id: int) -> int:
        """The end of the newest branch that goes through this message."""
        with self._db.session() as session:
            message = session.get_one(Message, message_id)
            rows = self._rows(session, message.conversation_id)
            children: dict[int, list[Message]] = {}
            for row in rows.values():
                if row.parent_id is not None:
                    children.setdefault(row.parent_id, []).append(row)
            current = message
            while current.id in children:
                current = max(children[current.id], key=lambda m: (m.created_at, m.id))
            return current.id

    @staticmethod
    def _rows(session: Session, conversation_id: int) -> dict[int, Message]:
        return {
            row.id: row
            for row in session.scalars(
                select(Message).where(Message.conversation_id == conversation_id)
            )
        }
