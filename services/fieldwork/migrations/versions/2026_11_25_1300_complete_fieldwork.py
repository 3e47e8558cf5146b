"""Complete fieldwork: editions' calendars and settings, grids as published definitions,
site plans with their scenarios, auditors' profiles, dated tasks with their history, appeals,
citizen-voice records and idempotent partner requests.

The first slice's domain tables held no production data (fieldwork was not released):
they are replaced rather than altered.

Revision ID: fieldwork_0002
Revises: fieldwork_0001
Create Date: 2026-11-25 12:58:03.287758
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "fieldwork_0002"
down_revision: str | None = "fieldwork_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in (
        "task_answers",
        "audit_tasks",
        "site_plans",
        "auditor_structure_links",
        "auditors",
        "grid_items",
        "grids",
    ):
        op.drop_table(table)
    op.create_table(
        "auditors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pseudonym", sa.Text(), nullable=False),
        sa.Column("pseudonym_key", sa.Text(), nullable=False),
        sa.Column("home_departement_code", sa.Text(), nullable=False),
        sa.Column("channels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("weekly_capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auditors")),
        sa.UniqueConstraint("pseudonym_key", name=op.f("uq_auditors_pseudonym_key")),
    )
    op.create_table(
        "editions",
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column(
            "windows", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column(
            "quotas", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("auto_validate", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("appeal_opens_on", sa.Date(), nullable=True),
        sa.Column("appeal_closes_on", sa.Date(), nullable=True),
        sa.Column("planning_seed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("edition_id", name=op.f("pk_editions")),
    )
    op.create_table(
        "grids",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
        sa.UniqueConstraint("code", "version", name="uq_grids_code_version"),
    )
    op.create_index(op.f("ix_grids_channel"), "grids", ["channel"], unique=False)
    op.create_table(
        "idempotent_requests",
        sa.Column("partner", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("partner", "key", name=op.f("pk_idempotent_requests")),
    )
    op.create_table(
        "site_plans",
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("registration_id", sa.Uuid(), nullable=False),
        sa.Column("structure_type", sa.Text(), nullable=False),
        sa.Column("stratum_code", sa.Text(), nullable=False),
        sa.Column("certified", sa.Boolean(), nullable=False),
        sa.Column("departement_code", sa.Text(), nullable=True),
        sa.Column("offer", sa.Text(), nullable=False),
        sa.Column(
            "options", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column(
            "contacts", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "scenario_codes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("source_event_id", sa.Uuid(), nullable=False),
        sa.Column("source_version", sa.Integer(), nullable=False),
        sa.Column(
            "planned_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("edition_id", "site_id", name=op.f("pk_site_plans")),
    )
    op.create_index(
        op.f("ix_site_plans_structure_id"), "site_plans", ["structure_id"], unique=False
    )
    op.create_table(
        "voice_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_records")),
    )
    op.create_index(
        op.f("ix_voice_records_edition_id"), "voice_records", ["edition_id"], unique=False
    )
    op.create_index(
        op.f("ix_voice_records_structure_id"), "voice_records", ["structure_id"], unique=False
    )
    op.create_table(
        "audit_tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("scenario_code", sa.Text(), nullable=True),
        sa.Column("grid_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), server_default="planned", nullable=False),
        sa.Column("auditor_id", sa.Uuid(), nullable=True),
        sa.Column("revision", sa.Integer(), server_default="0", nullable=False),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("reply_delay_working_days", sa.Integer(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'assigned', 'in_progress', 'submitted', 'returned_for_correction', 'validated', 'cancelled')",
            name=op.f("ck_audit_tasks_status"),
        ),
        sa.ForeignKeyConstraint(
            ["auditor_id"], ["auditors.id"], name=op.f("fk_audit_tasks_auditor_id_auditors")
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_audit_tasks_grid_id_grids")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_tasks")),
        sa.UniqueConstraint(
            "edition_id", "site_id", "channel", "planned_on", name="uq_audit_tasks_day"
        ),
        # A site belongs to one structure: unique per site, and in the listing's order.
        sa.UniqueConstraint(
            "edition_id",
            "structure_id",
            "site_id",
            "channel",
            "sequence",
            name="uq_audit_tasks_slot",
        ),
    )
    op.create_index(op.f("ix_audit_tasks_auditor_id"), "audit_tasks", ["auditor_id"], unique=False)
    op.create_table(
        "auditor_structure_links",
        sa.Column("auditor_id", sa.Uuid(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["auditor_id"],
            ["auditors.id"],
            name=op.f("fk_auditor_structure_links_auditor_id_auditors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "auditor_id", "structure_id", name=op.f("pk_auditor_structure_links")
        ),
    )
    op.create_index(
        op.f("ix_auditor_structure_links_structure_id"),
        "auditor_structure_links",
        ["structure_id"],
        unique=False,
    )
    op.create_table(
        "appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("item_code", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("corrected_answer", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'upheld', 'rejected')", name=op.f("ck_appeals_status")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["audit_tasks.id"],
            name=op.f("fk_appeals_task_id_audit_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    op.create_index(op.f("ix_appeals_edition_id"), "appeals", ["edition_id"], unique=False)
    op.create_index(op.f("ix_appeals_structure_id"), "appeals", ["structure_id"], unique=False)
    op.create_index(
        "uq_appeals_open_item",
        "appeals",
        ["task_id", "item_code"],
        unique=True,
        postgresql_where="status = 'open'",
    )
    op.create_table(
        "task_answers",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.Text(), nullable=False),
        sa.Column("value_bool", sa.Boolean(), nullable=True),
        sa.Column("value_number", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("not_applicable", sa.Boolean(), server_default="false", nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["audit_tasks.id"],
            name=op.f("fk_task_answers_task_id_audit_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "position", name=op.f("pk_task_answers")),
    )
    op.create_table(
        "task_transitions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["audit_tasks.id"],
            name=op.f("fk_task_transitions_task_id_audit_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_transitions")),
    )
    op.create_index(
        op.f("ix_task_transitions_task_id"), "task_transitions", ["task_id"], unique=False
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index(op.f("ix_task_transitions_task_id"), table_name="task_transitions")
    op.drop_table("task_transitions")
    op.drop_table("task_answers")
    op.drop_index("uq_appeals_open_item", table_name="appeals", postgresql_where="status = 'open'")
    op.drop_index(op.f("ix_appeals_structure_id"), table_name="appeals")
    op.drop_index(op.f("ix_appeals_edition_id"), table_name="appeals")
    op.drop_table("appeals")
    op.drop_index(
        op.f("ix_auditor_structure_links_structure_id"), table_name="auditor_structure_links"
    )
    op.drop_table("auditor_structure_links")
    op.drop_index(op.f("ix_audit_tasks_auditor_id"), table_name="audit_tasks")
    op.drop_table("audit_tasks")
    op.drop_index(op.f("ix_voice_records_structure_id"), table_name="voice_records")
    op.drop_index(op.f("ix_voice_records_edition_id"), table_name="voice_records")
    op.drop_table("voice_records")
    op.drop_index(op.f("ix_site_plans_structure_id"), table_name="site_plans")
    op.drop_table("site_plans")
    op.drop_table("idempotent_requests")
    op.drop_index(op.f("ix_grids_channel"), table_name="grids")
    op.drop_table("grids")
    op.drop_table("editions")
    op.drop_table("auditors")
    # ### end Alembic commands ###
    _first_slice().create_domain_tables()


def _first_slice() -> Any:
    """The first revision's module (its file name is not an importable name)."""
    path = Path(__file__).with_name("2026_11_23_0900_initial.py")
    spec = importlib.util.spec_from_file_location("fieldwork_0001", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
