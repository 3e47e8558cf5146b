"""Messaging tables for batched relaying: outbox retry delay and parking, dead letters' event id.

Revision ID: reporting_msg_0100
Revises: reporting_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from shared.migrations import batch_messaging_tables, unbatch_messaging_tables

revision: str = "reporting_msg_0100"
down_revision: str | None = "reporting_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    batch_messaging_tables()


def downgrade() -> None:
    unbatch_messaging_tables()
