"""Cells keep the sum of their squared audit scores (a reader's confidence interval).

Cells written before keep NULL (their channels' intervals stay unknown) until a re-score.

Revision ID: scoring_0003
Revises: scoring_msg_0100
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scoring_0003"
down_revision: str | None = "scoring_msg_0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cells", sa.Column("score_squares", sa.Numeric(50, 20)))


def downgrade() -> None:
    op.drop_column("cells", "score_squares")
