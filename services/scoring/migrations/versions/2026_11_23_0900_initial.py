"""Initial schema of the scoring service: audit scores and messaging tables.

Revision ID: scoring_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import create_messaging_tables

revision: str = "scoring_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "audit_scores",
        sa.Column("audit_id", sa.Uuid(), primary_key=True),
        sa.Column("edition_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("structure_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("grid_code", sa.Text(), nullable=False),
        sa.Column("grid_version", sa.Integer(), nullable=False),
        sa.Column("score", sa.Numeric(5, 2), nullable=False),
        sa.Column("points_obtained", sa.Numeric(12, 4), nullable=False),
        sa.Column("points_possible", sa.Numeric(12, 4), nullable=False),
        sa.Column("source_event_id", sa.Uuid(), nullable=False),
        sa.Column(
            "scored_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def downgrade() -> None:
    op.drop_table("audit_scores")
    for name in ("dead_letters", "inbox", "outbox"):
        op.drop_table(name)
