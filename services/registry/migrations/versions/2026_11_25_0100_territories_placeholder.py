"""Placeholder for the territories migration (the lead replaces it at merge).

Revision ID: territories_0002
Revises: registry_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

revision: str = "territories_0002"
down_revision: str | None = "registry_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
