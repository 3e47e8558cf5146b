"""The access log: reads of per-structure scores.

Revision ID: scoring_0004
Revises: scoring_0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from shared.migrations import create_access_log, drop_access_log

revision: str = "scoring_0004"
down_revision: str | None = "scoring_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_access_log()


def downgrade() -> None:
    drop_access_log()
