"""Initial schema of the fieldwork service.

Revision ID: fieldwork_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from shared.migrations import create_messaging_tables

revision: str = "fieldwork_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()


def downgrade() -> None:
    raise NotImplementedError("the initial schema is not downgraded; drop the schema instead")
