"""The access log (reads of confidential results) and partners' opt-ins copied from the
registry.

Revision ID: reporting_0003
Revises: reporting_0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from shared.migrations import (
    create_access_log,
    create_partner_access,
    drop_access_log,
    drop_partner_access,
)

revision: str = "reporting_0003"
down_revision: str | None = "reporting_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_access_log()
    create_partner_access()


def downgrade() -> None:
    drop_partner_access()
    drop_access_log()
