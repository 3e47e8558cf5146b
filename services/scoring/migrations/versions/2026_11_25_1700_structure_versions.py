"""Structures' figures carry a version, one more at each re-derivation, so that a reader with
several members keeps the latest figures whatever order it applies updates in.

Revision ID: scoring_0005
Revises: scoring_0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scoring_0005"
down_revision: str | None = "scoring_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "structure_scores",
        sa.Column("version", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("structure_scores", "version")
