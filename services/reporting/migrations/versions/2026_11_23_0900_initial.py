"""Initial schema of the reporting service: participants, scored audits, messaging tables.

Revision ID: reporting_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import create_messaging_tables

revision: str = "reporting_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "participants",
        sa.Column("edition_id", sa.Uuid(), primary_key=True),
        sa.Column("structure_id", sa.Uuid(), primary_key=True),
        sa.Column("structure_type", sa.Text(), nullable=False),
        sa.Column("stratum_code", sa.Text(), nullable=False),
        sa.Column("stratum_label", sa.Text(), nullable=False),
        sa.Column("certified", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "scored_audits",
        sa.Column("audit_id", sa.Uuid(), primary_key=True),
        sa.Column("edition_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("structure_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("score", sa.Numeric(5, 2), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scored_audits")
    op.drop_table("participants")
    for name in ("dead_letters", "inbox", "outbox"):
        op.drop_table(name)
