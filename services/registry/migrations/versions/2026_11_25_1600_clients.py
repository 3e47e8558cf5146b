"""OAuth2 clients (hashed secrets), partners' opt-ins and the access log.

Revision ID: registry_0004
Revises: registry_msg_0100
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from shared.migrations import create_access_log, drop_access_log

revision: str = "registry_0004"
down_revision: str | None = "registry_msg_0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("client_id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scopes", ARRAY(sa.Text()), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    # Exactly this DDL: the webhooks domain reads the same table.
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS partner_opt_ins (
            structure_id uuid NOT NULL,
            client_id text NOT NULL,
            granted_by text NOT NULL,
            granted_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (structure_id, client_id)
        )
        """
    )
    create_access_log()


def downgrade() -> None:
    drop_access_log()
    op.drop_table("partner_opt_ins")
    op.drop_table("clients")
