"""Partners' opt-ins, copied from the registry's `registry.partner_opt_in.changed.v1`.

Revision ID: fieldwork_0003
Revises: fieldwork_msg_0100
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from shared.migrations import create_partner_access, drop_partner_access

revision: str = "fieldwork_0003"
down_revision: str | None = "fieldwork_msg_0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_partner_access()


def downgrade() -> None:
    drop_partner_access()
