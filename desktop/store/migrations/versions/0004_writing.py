"""Writing tools: summary sessions, translation sessions and their segments.

Revision ID: 0004_writing
Revises: 0003_chat
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_writing"
down_revision = "0003_chat"
branch_labels = None
depends_on = None


def _session_columns() -> list[sa.Column]:
    """What summaries and translations both have: the source, the model, the run's state."""
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("source_name", sa.String(500)),
        sa.Column("source_hash", sa.String(64), nullable=False, index=True),
        sa.Column("model_id", sa.String(500)),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("error", sa.Text),
        sa.Column("timings", sa.JSON),
        sa.Column("writer_pid", sa.Integer),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False, index=True),
    ]


def upgrade() -> None:
    op.create_table(
        "summaries",
        *_session_columns(),
        sa.Column("source_text", sa.Text, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("plan", sa.JSON),
        sa.Column("partials", sa.JSON, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
    )
    op.create_table(
        "translations",
        *_session_columns(),
        sa.Column("source_language", sa.String(20)),
        sa.Column("target_language", sa.String(20), nullable=False),
        sa.Column("tone", sa.String(200), nullable=False),
        sa.Column("glossary", sa.JSON, nullable=False),
    )
    op.create_table(
        "translation_segments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "translation_id",
            sa.Integer,
            sa.ForeignKey("translations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("prefix", sa.String(50), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("translatable", sa.Boolean, nullable=False),
        sa.Column("separator", sa.String(50), nullable=False),
        sa.Column("suffix", sa.String(200), nullable=False),
        sa.Column("continuation", sa.String(50), nullable=False),
        sa.Column("translation", sa.Text),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("missing_terms", sa.JSON, nullable=False),
        sa.Column("stats", sa.JSON),
    )
    op.create_index(
        "ix_translation_segments_order", "translation_segments", ["translation_id", "position"]
    )


def downgrade() -> None:
    op.drop_table("translation_segments")
    op.drop_table("translations")
    op.drop_table("summaries")
