"""Structures' figures keep scoring's version of them: an older update applied late by another
member of the durable consumer changes nothing.

Revision ID: reporting_0004
Revises: reporting_0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reporting_0004"
down_revision: str | None = "reporting_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("structure_figures", sa.Column("version", sa.BigInteger()))


def downgrade() -> None:
    op.drop_column("structure_figures", "version")
