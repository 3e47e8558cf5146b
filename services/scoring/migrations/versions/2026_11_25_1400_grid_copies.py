"""Scoring keeps a copy of each published grid (`fieldwork.grid.published.v1`).

Minimal stand-in written on the fieldwork branch so validated audits v2 can be scored there;
the scoring engineer's own migration replaces it at merge.

Revision ID: scoring_0002
Revises: scoring_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "scoring_0002"
down_revision: str | None = "scoring_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grid_copies",
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("definition", JSONB(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("grid_copies")
