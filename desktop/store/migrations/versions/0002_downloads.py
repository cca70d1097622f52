"""The download queue.

Revision ID: 0002_downloads
Revises: 0001_baseline
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_downloads"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "downloads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("repo", sa.String(300), nullable=False),
        sa.Column("revision", sa.String(100), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("quant", sa.String(50), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("done_bytes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("model_id", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_downloads_status", "downloads", ["status"])


def downgrade() -> None:
    op.drop_table("downloads")
