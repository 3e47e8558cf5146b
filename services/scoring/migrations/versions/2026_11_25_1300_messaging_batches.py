"""Messaging tables for batched relaying: outbox retry delay and parking, dead letters' event id.

Revision ID: scoring_msg_0100
Revises: scoring_0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from shared.migrations import batch_messaging_tables, unbatch_messaging_tables

revision: str = "scoring_msg_0100"
down_revision: str | None = "scoring_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    batch_messaging_tables()


def downgrade() -> None:
    unbatch_messaging_tables()
