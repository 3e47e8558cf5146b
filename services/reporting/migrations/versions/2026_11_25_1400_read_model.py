"""Reporting's full read model: editions, figures flattened with ranks, group statistics,
audits (grids, remarks), rendered documents; participants gain names, offer and trophies.

Revision ID: reporting_0002
Revises: reporting_msg_0100
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "reporting_0002"
down_revision: str | None = "reporting_msg_0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCORE = sa.Numeric(14, 10)


def upgrade() -> None:
    op.drop_table("scored_audits")
    op.add_column(
        "participants", sa.Column("structure_name", sa.Text(), nullable=False, server_default="")
    )
    op.add_column(
        "participants", sa.Column("offer", sa.Text(), nullable=False, server_default="standard")
    )
    op.add_column(
        "participants",
        sa.Column("options", postgresql.JSONB(), nullable=False, server_default="[]"),
    )
    op.add_column(
        "participants",
        sa.Column("competes_for_trophies", sa.Boolean(), nullable=False, server_default="false"),
    )
    op.add_column(
        "participants", sa.Column("withdrawn", sa.Boolean(), nullable=False, server_default="false")
    )
    op.create_table(
        "editions",
        sa.Column("edition_id", sa.Uuid(), primary_key=True),
        sa.Column("year", sa.Integer()),
        sa.Column("number", sa.Integer()),
        sa.Column("name", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.Text(), nullable=False, server_default="draft"),
        sa.Column("results_dispatch_on", sa.Date()),
        sa.Column("generation", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("stale", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("settings", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("laureates_published_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "structure_figures",
        sa.Column("edition_id", sa.Uuid(), primary_key=True),
        sa.Column("structure_id", sa.Uuid(), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("stratum_code", sa.Text(), nullable=False),
        sa.Column("structure_type", sa.Text(), nullable=False),
        sa.Column("certified", sa.Boolean(), nullable=False),
        sa.Column("audits", sa.Integer(), nullable=False),
        sa.Column("score", SCORE),
        sa.Column("figures", postgresql.JSONB(), nullable=False),
        sa.Column("perceived", postgresql.JSONB()),
    )
    op.create_table(
        "figure_values",
        sa.Column("edition_id", sa.Uuid(), primary_key=True),
        sa.Column("structure_id", sa.Uuid(), primary_key=True),
        sa.Column("dimension", sa.Text(), primary_key=True),
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("stratum_code", sa.Text(), nullable=False),
        sa.Column("structure_type", sa.Text(), nullable=False),
        sa.Column("certified", sa.Boolean(), nullable=False),
        sa.Column("score", SCORE, nullable=False),
        sa.Column("audits", sa.Integer(), nullable=False),
        sa.Column("sum_squares", sa.Numeric()),
        sa.Column("stratum_rank", sa.Integer()),
        sa.Column("stratum_size", sa.Integer()),
        sa.Column("stratum_percentile", sa.Numeric(7, 4)),
        sa.Column("sample_rank", sa.Integer()),
        sa.Column("sample_size", sa.Integer()),
        sa.Column("sample_percentile", sa.Numeric(7, 4)),
    )
    op.create_index(
        "ix_figure_values_dimension", "figure_values", ["edition_id", "dimension", "key"]
    )
    op.create_table(
        "group_stats",
        sa.Column("edition_id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("group_key", sa.Text(), primary_key=True),
        sa.Column("dimension", sa.Text(), primary_key=True),
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("structures", sa.Integer(), nullable=False),
        sa.Column("audits", sa.Integer(), nullable=False),
        *(
            sa.Column(name, SCORE, nullable=False)
            for name in ("mean", "median", "q1", "q3", "p10", "p90")
        ),
        sa.Column("performing", sa.Integer(), nullable=False),
    )
    op.create_table(
        "audits",
        sa.Column("audit_id", sa.Uuid(), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("grid_code", sa.Text(), nullable=False),
        sa.Column("grid_version", sa.Integer(), nullable=False),
        sa.Column("remarks", sa.Text()),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audits_structure", "audits", ["edition_id", "structure_id"])
    op.create_table(
        "documents",
        sa.Column("edition_id", sa.Uuid(), primary_key=True),
        sa.Column("structure_id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    for name in (
        "documents",
        "audits",
        "group_stats",
        "figure_values",
        "structure_figures",
        "editions",
    ):
        op.drop_table(name)
    for column in ("withdrawn", "competes_for_trophies", "options", "offer", "structure_name"):
        op.drop_column("participants", column)
    op.create_table(
        "scored_audits",
        sa.Column("audit_id", sa.Uuid(), primary_key=True),
        sa.Column("edition_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("structure_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("score", sa.Numeric(5, 2), nullable=False),
    )
