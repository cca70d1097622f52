"""Documents: libraries of the user's files and folders, their files (the indexing queue),
the files' passages with a full-text index (FTS5), the embedders their vectors were made with,
and for asking: a conversation's libraries, its "only from my documents" switch, and the
sources each answer was given. The vectors themselves are in one sqlite-vec table per
embedder, created by store/documents.py when its first vectors come (their dimension is
known only then).

Revision ID: 0006_documents
Revises: 0005_playground
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_documents"
down_revision = "0005_playground"
branch_labels = None
depends_on = None

# The index follows the passages table by triggers, as messages_fts follows messages (0003):
# a passage deleted by a cascade (its file, source or library removed) leaves it too.
FTS_TRIGGERS = (
    """CREATE TRIGGER passages_fts_insert AFTER INSERT ON passages BEGIN
        INSERT INTO passages_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text);
    END""",
    """CREATE TRIGGER passages_fts_delete AFTER DELETE ON passages BEGIN
        INSERT INTO passages_fts(passages_fts, rowid, heading, text)
        VALUES ('delete', old.id, old.heading, old.text);
    END""",
    """CREATE TRIGGER passages_fts_update AFTER UPDATE OF heading, text ON passages BEGIN
        INSERT INTO passages_fts(passages_fts, rowid, heading, text)
        VALUES ('delete', old.id, old.heading, old.text);
        INSERT INTO passages_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text);
    END""",
)


def upgrade() -> None:
    op.create_table(
        "libraries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "library_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "library_id",
            sa.Integer,
            sa.ForeignKey("libraries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("is_folder", sa.Boolean, nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("library_id", "path"),
    )
    op.create_table(
        "library_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "library_id",
            sa.Integer,
            sa.ForeignKey("libraries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "source_id",
            sa.Integer,
            sa.ForeignKey("library_sources.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("embedder", sa.String(500)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("writer_pid", sa.Integer),
        sa.Column("passages", sa.Integer, nullable=False),
        sa.Column("indexed_at", sa.DateTime),
        sa.UniqueConstraint("library_id", "path"),
    )
    op.create_index("ix_library_files_status", "library_files", ["status"])
    op.create_table(
        "passages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "file_id",
            sa.Integer,
            sa.ForeignKey("library_files.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("page", sa.Integer),
        sa.Column("heading", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "embedders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(500), nullable=False, unique=True),
        sa.Column("dimension", sa.Integer, nullable=False),
    )
    op.create_table(
        "conversation_libraries",
        sa.Column(
            "conversation_id",
            sa.Integer,
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "library_id",
            sa.Integer,
            sa.ForeignKey("libraries.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        ),
    )
    # Plain ADD COLUMN, as in 0003: a batch would drop the conversations table, and with it
    # (foreign keys on) every message.
    op.add_column(
        "conversations",
        sa.Column("documents_only", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "message_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "message_id",
            sa.Integer,
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("page", sa.Integer),
        sa.Column("heading", sa.Text, nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("score", sa.Double, nullable=False),
    )
    op.execute(
        "CREATE VIRTUAL TABLE passages_fts USING fts5(heading, text, content='passages', "
        "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    # How many passages hold each word: words in most of them say nothing about a passage
    # and are left out of a search (store/documents.py), which keeps it fast.
    op.execute("CREATE VIRTUAL TABLE passages_fts_words USING fts5vocab(passages_fts, 'row')")
    for trigger in FTS_TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    connection = op.get_bind()
    vector_tables = connection.exec_driver_sql("SELECT id FROM embedders").scalars().all()
    for embedder_id in vector_tables:
        op.execute(f"DROP TABLE IF EXISTS passage_vectors_{int(embedder_id)}")
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER passages_fts_{name}")
    op.execute("DROP TABLE passages_fts_words")
    op.execute("DROP TABLE passages_fts")
    op.drop_table("message_sources")
    op.execute("ALTER TABLE conversations DROP COLUMN documents_only")  # SQLite 3.35+
    op.drop_table("conversation_libraries")
    op.drop_table("embedders")
    op.drop_table("passages")
    op.drop_index("ix_library_files_status", "library_files")
    op.drop_table("library_files")
    op.drop_table("library_sources")
    op.drop_table("libraries")
