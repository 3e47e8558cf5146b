"""Aggregates: stored audits (winning revision), grids, cells, structure and group figures,
generations for re-scores, edition settings, perceived quality, dead-letter replays.

`audit_scores` (per-audit scores of the first slice) is replaced by `audits`, which keeps each
audit's payload so re-scores can replay it; the first slice kept no payload to carry over.

Revision ID: scoring_0002
Revises: scoring_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "scoring_0002"
down_revision: str | None = "scoring_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Element-wise sum of two arrays (a missing element counts 0): cells add an audit's per-item,
# per-criterion and per-step contributions in one upsert.
ARRAY_ADD = """
CREATE FUNCTION {name}(a {kind}[], b {kind}[]) RETURNS {kind}[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(coalesce(a[i], 0) + coalesce(b[i], 0) ORDER BY i), '{{}}')
  FROM generate_series(1, greatest(cardinality(a), cardinality(b))) AS i
$$
"""


def upgrade() -> None:
    op.execute(ARRAY_ADD.format(name="add_numeric_arrays", kind="numeric"))
    op.execute(ARRAY_ADD.format(name="add_int_arrays", kind="integer"))
    op.create_table(
        "audits",
        sa.Column("audit_id", sa.Uuid(), nullable=False),
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("stratum_code", sa.Text(), nullable=False),
        sa.Column("structure_type", sa.Text(), nullable=False),
        sa.Column("certified", sa.Boolean(), nullable=False),
        sa.Column("grid_code", sa.Text(), nullable=False),
        sa.Column("grid_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("rejection", sa.Text(), nullable=True),
        sa.Column("score", sa.Numeric(precision=30, scale=10), nullable=True),
        sa.Column("points_obtained", sa.Numeric(precision=40, scale=10), nullable=True),
        sa.Column("points_possible", sa.Numeric(precision=40, scale=10), nullable=True),
        sa.Column("methodology", sa.Text(), nullable=True),
        sa.Column(
            "scored_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_audits")),
    )
    op.create_index(
        "ix_audits_edition_structure", "audits", ["edition_id", "structure_id"], unique=False
    )
    op.create_index(
        "ix_audits_pending_grid",
        "audits",
        ["grid_code", "grid_version"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "cells",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("grid_code", sa.Text(), nullable=False),
        sa.Column("grid_version", sa.Integer(), nullable=False),
        sa.Column("audits", sa.Integer(), nullable=False),
        sa.Column("score_total", sa.Numeric(precision=40, scale=10), nullable=False),
        sa.Column("item_totals", sa.ARRAY(sa.Numeric(precision=40, scale=10)), nullable=False),
        sa.Column("item_counts", sa.ARRAY(sa.Integer()), nullable=False),
        sa.Column("criterion_totals", sa.ARRAY(sa.Numeric(precision=40, scale=10)), nullable=False),
        sa.Column("criterion_counts", sa.ARRAY(sa.Integer()), nullable=False),
        sa.Column("step_totals", sa.ARRAY(sa.Numeric(precision=40, scale=10)), nullable=False),
        sa.Column("step_counts", sa.ARRAY(sa.Integer()), nullable=False),
        sa.PrimaryKeyConstraint(
            "generation",
            "edition_id",
            "structure_id",
            "site_id",
            "channel",
            "grid_code",
            "grid_version",
            name=op.f("pk_cells"),
        ),
    )
    op.create_table(
        "dead_letter_replays",
        sa.Column("dead_letter_id", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column(
            "replayed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("dead_letter_id", name=op.f("pk_dead_letter_replays")),
    )
    op.create_table(
        "edition_settings",
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("performing_threshold", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("channel_weights", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("min_voice_responses", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("edition_id", name=op.f("pk_edition_settings")),
    )
    op.create_table(
        "edition_state",
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("building_generation", sa.Integer(), nullable=True),
        sa.Column("building_settings", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("rescore_cursor", sa.Uuid(), nullable=True),
        sa.Column("rescore_status", sa.Text(), nullable=True),
        sa.Column("rescore_total", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rescore_done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rescore_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rescore_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("edition_id", name=op.f("pk_edition_state")),
    )
    op.create_table(
        "grids",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("rules_version", sa.Text(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code", "version", name=op.f("pk_grids")),
    )
    op.create_table(
        "group_stats",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("structures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("audits", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "figures",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("dirty", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(
            "generation", "edition_id", "kind", "key", name=op.f("pk_group_stats")
        ),
    )
    op.create_table(
        "structure_scores",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("stratum_code", sa.Text(), nullable=False),
        sa.Column("structure_type", sa.Text(), nullable=False),
        sa.Column("certified", sa.Boolean(), nullable=False),
        sa.Column("attributes_as_of", sa.Text(), nullable=False),
        sa.Column("audits", sa.Integer(), nullable=False),
        sa.Column("score", sa.Numeric(precision=30, scale=10), nullable=True),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(
            "generation", "edition_id", "structure_id", name=op.f("pk_structure_scores")
        ),
    )
    for column in ("stratum_code", "structure_type", "certified"):
        op.create_index(
            f"ix_structure_scores_{column}",
            "structure_scores",
            ["generation", "edition_id", column],
        )
    op.create_table(
        "voice_sums",
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("responses", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "satisfaction_total",
            sa.Numeric(precision=40, scale=10),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column("agent_responses", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "agent_total",
            sa.Numeric(precision=40, scale=10),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column("consultations", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("participants", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "population_reached", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "edition_id", "structure_id", "site_id", name=op.f("pk_voice_sums")
        ),
    )
    op.create_table(
        "voices",
        sa.Column("voice_id", sa.Uuid(), nullable=False),
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("voice_id", name=op.f("pk_voices")),
    )
    op.drop_index(op.f("ix_audit_scores_edition_id"), table_name="audit_scores")
    op.drop_index(op.f("ix_audit_scores_structure_id"), table_name="audit_scores")
    op.drop_table("audit_scores")


def downgrade() -> None:
    op.execute("DROP FUNCTION add_numeric_arrays(numeric[], numeric[])")
    op.execute("DROP FUNCTION add_int_arrays(integer[], integer[])")
    op.create_table(
        "audit_scores",
        sa.Column("audit_id", sa.UUID(), autoincrement=False, nullable=False),
        sa.Column("edition_id", sa.UUID(), autoincrement=False, nullable=False),
        sa.Column("structure_id", sa.UUID(), autoincrement=False, nullable=False),
        sa.Column("site_id", sa.UUID(), autoincrement=False, nullable=False),
        sa.Column("channel", sa.TEXT(), autoincrement=False, nullable=False),
        sa.Column("grid_code", sa.TEXT(), autoincrement=False, nullable=False),
        sa.Column("grid_version", sa.INTEGER(), autoincrement=False, nullable=False),
        sa.Column("score", sa.NUMERIC(precision=5, scale=2), autoincrement=False, nullable=False),
        sa.Column(
            "points_obtained",
            sa.NUMERIC(precision=12, scale=4),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "points_possible",
            sa.NUMERIC(precision=12, scale=4),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("source_event_id", sa.UUID(), autoincrement=False, nullable=False),
        sa.Column(
            "scored_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            autoincrement=False,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_audit_scores")),
    )
    op.create_index(
        op.f("ix_audit_scores_structure_id"), "audit_scores", ["structure_id"], unique=False
    )
    op.create_index(
        op.f("ix_audit_scores_edition_id"), "audit_scores", ["edition_id"], unique=False
    )
    op.drop_table("voices")
    op.drop_table("voice_sums")
    op.drop_table("structure_scores")
    op.drop_table("group_stats")
    op.drop_table("grids")
    op.drop_table("edition_state")
    op.drop_table("edition_settings")
    op.drop_table("dead_letter_replays")
    op.drop_table("cells")
    op.drop_index(
        "ix_audits_pending_grid",
        table_name="audits",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_audits_edition_structure", table_name="audits")
    op.drop_table("audits")
