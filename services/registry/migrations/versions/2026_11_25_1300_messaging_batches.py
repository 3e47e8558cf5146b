"""Messaging tables for batched relaying: outbox retry delay and parking, dead letters' event id.

Revision ID: registry_msg_0100
Revises: registry_0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "registry_msg_0100"
down_revision: str | None = "registry_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True)))
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL AND parked_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_parked", "outbox", ["id"], postgresql_where=sa.text("parked_at IS NOT NULL")
    )
    op.add_column("dead_letters", sa.Column("event_id", sa.Uuid()))


def downgrade() -> None:
    op.drop_column("dead_letters", "event_id")
    op.drop_index("ix_outbox_parked", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL")
    )
    op.drop_column("outbox", "parked_at")
    op.drop_column("outbox", "next_attempt_at")
