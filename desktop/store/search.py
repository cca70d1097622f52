"""Full-text search over every message of every conversation (SQLite FTS5, kept in step with
the messages table by triggers: see migration 0003)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from desktop.store.db import Database

# Where a snippet's matched words begin and end; the GUI makes them bold, the CLI brackets.
MATCH_START, MATCH_END = "\x02", "\x03"
_WORD = re.compile(r"\w+", re.UNICODE)

_SEARCH = text(
    """
    SELECT m.id, m.conversation_id, c.title, m.role, m.created_at,
           snippet(messages_fts, 0, :start, :end, '…', 16) AS snippet
    FROM messages_fts
    JOIN messages AS m ON m.id = messages_fts.rowid
    JOIN conversations AS c ON c.id = m.conversation_id
    WHERE messages_fts MATCH :query AND c.deleted_at IS NULL
    ORDER BY messages_fts.rowid DESC
    LIMIT :limit
    """
)


@dataclass(frozen=True)
class SearchHit:
    message_id: int
    conversation_id: int
    conversation_title: str
    role: str
    created_at: datetime
    snippet: str  # the matched words between MATCH_START and MATCH_END


def fts_query(user_text: str) -> str | None:
    """The user's words as an FTS5 query: every word must appear, the last one as a prefix
    (so results come while typing); quoted, so FTS5 syntax in the text means nothing."""
    words = _WORD.findall(user_text)
    if not words:
        return None
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


class MessageSearch:
    def __init__(self, db: Database) -> None:
        self._db = db

    def search(self, user_text: str, limit: int = 50) -> list[SearchHit]:
        """Messages holding every word of `user_text`, newest first."""
        query = fts_query(user_text)
        if query is None:
            return []
        with self._db.engine.connect() as connection:
            rows = connection.execute(
                _SEARCH,
                {"query": query, "start": MATCH_START, "end": MATCH_END, "limit": limit},
            ).all()
        return [
            SearchHit(
                message_id=row.id,
                conversation_id=row.conversation_id,
                conversation_title=row.title,
                role=row.role,
                created_at=_as_datetime(row.created_at),
                snippet=row.snippet,
            )
            for row in rows
        ]


def _as_datetime(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
