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


# Any message holding the word as a whole word: the first one found is enough.
_KNOWN_WORD = text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :word LIMIT 1")


@dataclass(frozen=True)
class SearchHit:
    message_id: int
    conversation_id: int
    conversation_title: str
    role: str
    created_at: datetime
    snippet: str  # the matched words between MATCH_START and MATCH_END


def fts_query(user_text: str, last_is_a_word: bool = False) -> str | None:
    """The user's words as an FTS5 query: every word must appear; the last one also as the
    start of a longer word unless it is a whole word already (results come while typing).
    Quoted, so FTS5 syntax in the text means nothing."""
    words = _WORD.findall(user_text)
    if not words:
        return None
    quoted = [f'"{word}"' for word in words]
    if not last_is_a_word:
        quoted[-1] += "*"
    return " ".join(quoted)


class MessageSearch:
    def __init__(self, db: Database) -> None:
        self._db = db

    def search(self, user_text: str, limit: int = 50) -> list[SearchHit]:
        """Messages holding every word of `user_text`, newest first."""
        words = _WORD.findall(user_text)
        if not words:
            return []
        with self._db.engine.connect() as connection:
            # A prefix query merges the whole lists of every word it could be (10 ms for a
            # common word in 100,000 messages); a whole word streams, newest first, and stops
            # at the limit. So a last word the index knows is looked up as a word.
            known = connection.execute(_KNOWN_WORD, {"word": f'"{words[-1]}"'}).first()
            query = fts_query(user_text, last_is_a_word=known is not None)
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


def like_pattern(user_text: str) -> str:
    """`user_text` anywhere in a column, for `LIKE ... ESCAPE '\\'`: its own % and _ are
    literal. (Sessions are few enough to scan; messages need the FTS index above.)"""
    escaped = user_text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
