"""Playground: saved runs with their tokens, and parameter presets.

Revision ID: 0005_playground
Revises: 0004_writing
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_playground"
down_revision = "0004_writing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playground_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("setup", sa.JSON, nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("messages", sa.JSON),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("model_id", sa.String(500)),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("tokens", sa.JSON, nullable=False),
        sa.Column("stats", sa.JSON),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("error", sa.Text),
        sa.Column("writer_pid", sa.Integer),
        sa.Column("comparison_id", sa.Integer, index=True),
        sa.Column("lane", sa.Integer, nullable=False),
        sa.Column("branch_of", sa.Integer),
        sa.Column("branch_at", sa.Integer),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False, index=True),
    )
    op.create_table(
        "playground_presets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("playground_presets")
    op.drop_table("playground_runs")
