"""Chat: pinned and deleted (undoable) conversations, the branch shown, per-conversation
sampling and context policy, presets, and full-text search over every message (FTS5).

Revision ID: 0003_chat
Revises: 0002_downloads
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_chat"
down_revision = "0002_downloads"
branch_labels = None
depends_on = None

# The index follows the messages table by triggers, so no code path can forget it; an
# answer flushed while it streams is re-indexed at each flush.
FTS_TRIGGERS = (
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
    END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content)
        VALUES ('delete', old.id, old.content);
    END""",
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content)
        VALUES ('delete', old.id, old.content);
        INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
    END""",
)


def upgrade() -> None:
    # Plain ADD COLUMN: a batch (copy and rename) would drop the old conversations table,
    # and with foreign keys on, that deletes every message by cascade.
    op.add_column(
        "conversations",
        sa.Column("pinned", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("conversations", sa.Column("deleted_at", sa.DateTime(), nullable=True))
    op.add_column("conversations", sa.Column("current_leaf_id", sa.Integer(), nullable=True))
    op.add_column("conversations", sa.Column("sampling", sa.JSON(), nullable=True))
    op.add_column(
        "conversations",
        sa.Column("context_policy", sa.String(20), nullable=False, server_default="drop_middle"),
    )
    op.create_index("ix_conversations_deleted_at", "conversations", ["deleted_at"])
    op.create_table(
        "presets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("sampling", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    for trigger in FTS_TRIGGERS:
        op.execute(trigger)
    op.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")


def downgrade() -> None:
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER messages_fts_{name}")
    op.execute("DROP TABLE messages_fts")
    op.drop_table("presets")
    op.drop_index("ix_conversations_deleted_at", "conversations")
    for column in ("context_policy", "sampling", "current_leaf_id", "deleted_at", "pinned"):
        op.execute(f"ALTER TABLE conversations DROP COLUMN {column}")  # SQLite 3.35+
