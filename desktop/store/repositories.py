"""Reads and writes of conversations and messages. Everything returned is a plain dataclass."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from desktop.errors import ConversationNotFound
from desktop.store.db import Database
from desktop.store.schema import Conversation, Message, utc_now


@dataclass(frozen=True)
class ConversationRecord:
    id: int
    title: str
    model_id: str | None
    system_prompt: str | None
    created_at: datetime
    updated_at: datetime
    message_count: int = 0


@dataclass(frozen=True)
class MessageRecord:
    id: int
    conversation_id: int
    parent_id: int | None
    role: str
    content: str
    status: str
    model_id: str | None
    stats: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime


def _conversation(row: Conversation, message_count: int = 0) -> ConversationRecord:
    return ConversationRecord(
        id=row.id,
        title=row.title,
        model_id=row.model_id,
        system_prompt=row.system_prompt,
        created_at=row.created_at,
        updated_at=row.updated_at,
        message_count=message_count,
    )


def _message(row: Message) -> MessageRecord:
    return MessageRecord(
        id=row.id,
        conversation_id=row.conversation_id,
        parent_id=row.parent_id,
        role=row.role,
        content=row.content,
        status=row.status,
        model_id=row.model_id,
        stats=row.stats,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ConversationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self, title: str, *, model_id: str | None = None, system_prompt: str | None = None
    ) -> ConversationRecord:
        with self._db.session() as session:
            row = Conversation(title=title, model_id=model_id, system_prompt=system_prompt)
            session.add(row)
            session.flush()
            return _conversation(row)

    def get(self, conversation_id: int) -> ConversationRecord:
        with self._db.session() as session:
            row = session.get(Conversation, conversation_id)
            if row is None:
                raise ConversationNotFound(
                    f"There is no conversation {conversation_id}. See `lantern history list`."
                )
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
            .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
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

    def touch(self, conversation_id: int) -> None:
        with self._db.session() as session:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(updated_at=utc_now())
            )


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
        status: str = "complete",
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
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(updated_at=utc_now())
            )
            session.flush()
            return _message(row)

    def save_partial(self, message_id: int, content: str) -> None:
        """Flush the text of an answer that is still streaming."""
        with self._db.session() as session:
            session.execute(update(Message).where(Message.id == message_id).values(content=content))

    def finish(
        self,
        message_id: int,
        *,
        content: str,
        status: str,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> MessageRecord:
        with self._db.session() as session:
            row = session.get_one(Message, message_id)
            row.content, row.status, row.stats, row.error = content, status, stats, error
            row.writer_pid = None
            session.flush()
            return _message(row)

    def get(self, message_id: int) -> MessageRecord:
        with self._db.session() as session:
            return _message(session.get_one(Message, message_id))

    def thread(self, conversation_id: int) -> list[MessageRecord]:
        """The conversation as it reads now: from the newest message back to the first."""
        with self._db.session() as session:
            rows = {
                row.id: row
                for row in session.scalars(
                    select(Message).where(Message.conversation_id == conversation_id)
                )
            }
            if not rows:
                return []
            leaf = max(rows.values(), key=lambda m: (m.created_at, m.id))
            path: list[MessageRecord] = []
            current: Message | None = leaf
            while current is not None:
                path.append(_message(current))
                current = rows.get(current.parent_id) if current.parent_id else None
            return path[::-1]
