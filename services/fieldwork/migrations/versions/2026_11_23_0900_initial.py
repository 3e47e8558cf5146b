"""Initial schema of the fieldwork service: grids (seeded, version 1 per channel), auditors,
site plans, audit tasks and their answers, and the messaging tables.

Revision ID: fieldwork_0001
Revises:
Create Date: 2026-11-23
"""

import uuid
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.migrations import create_messaging_tables

revision: str = "fieldwork_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Grid ids are derived from (code, version) so every database holds the same ids.
GRID_NAMESPACE = uuid.UUID("6f3c2b0e-2a51-4f0e-9d7a-5b8f0c1e7a10")

# (code, label, criterion, journey_step, answer_type, weight, scale_max, target, n/a allowed).
# Targets follow the Marianne commitments: 5 rings, 5 working days (e-mail), 15 (letter).
# The data is frozen here on purpose: a later grid ships as a new version in a new migration.
GRIDS: dict[str, list[tuple[str, str, str, str, str, str, int | None, str | None, bool]]] = {
    "email": [
        ("email_answered_within_5_days",
         "Answered (or a holding reply giving a delay) within 5 working days",
         "reactivity", "processing", "max_duration", "3", None, "5", False),
        ("email_answer_complete", "The answer fully addresses the question",
         "reliability", "processing", "yes_no", "3", None, None, False),
        ("email_answer_clarity", "Clarity of the answer",
         "reliability", "processing", "scale", "2", 4, None, False),
        ("email_agent_identified", "The reply names an agent and gives direct contact details",
         "personalisation", "reception", "yes_no", "1", None, None, False),
        ("email_courtesy", "Greeting and courteous closing",
         "courtesy", "reception", "yes_no", "1", None, None, False),
        ("email_orientation", "Directs to the competent body when the request is not its own",
         "orientation", "reception", "yes_no", "1", None, None, True),
    ],
    "phone": [
        ("phone_picked_up_within_5_rings", "Picked up within 5 rings",
         "accessibility", "access", "max_duration", "3", None, "5", False),
        ("phone_agent_gives_name", "The agent gives their name",
         "personalisation", "reception", "yes_no", "1", None, None, False),
        ("phone_greeting", "The agent greets with the name of the structure",
         "courtesy", "reception", "yes_no", "1", None, None, False),
        ("phone_hold_within_60_seconds", "Put on hold for at most 60 seconds",
         "waiting", "reception", "max_duration", "2", None, "60", True),
        ("phone_transfer_first_attempt", "A transfer reaches the right person at once",
         "transfer", "processing", "yes_no", "2", None, None, True),
        ("phone_answer_clarity", "Clarity of the answer",
         "reliability", "processing", "scale", "3", 4, None, False),
    ],
    "answering_machine": [
        ("am_opening_hours", "The message states the opening hours",
         "accessibility", "access", "yes_no", "2", None, None, False),
        ("am_structure_named", "The message names the structure",
         "courtesy", "access", "yes_no", "1", None, None, False),
        ("am_alternative_contact", "The message gives another way to reach the service",
         "orientation", "access", "yes_no", "2", None, None, False),
        ("am_audibility", "The message is audible and easy to understand",
         "reliability", "access", "scale", "1", 4, None, False),
    ],
    "letter": [
        ("letter_answered_within_15_days", "Answered within 15 working days",
         "reactivity", "processing", "max_duration", "3", None, "15", False),
        ("letter_answer_complete", "The answer fully addresses the request",
         "reliability", "processing", "yes_no", "3", None, None, False),
        ("letter_agent_identified", "Signed by a named agent with direct contact details",
         "personalisation", "processing", "yes_no", "1", None, None, False),
        ("letter_answer_clarity", "Clarity of the answer",
         "reliability", "processing", "scale", "2", 4, None, False),
    ],
    "website": [
        ("web_opening_hours", "Opening hours found within 3 clicks from the home page",
         "accessibility", "access", "yes_no", "2", None, None, False),
        ("web_contact_channel", "An online contact form or an e-mail address is given",
         "accessibility", "access", "yes_no", "1", None, None, False),
        ("web_eprocedure_online", "The looked-for procedure can be completed online",
         "e_procedures", "processing", "yes_no", "3", None, None, True),
        ("web_information_quality", "Information is up to date and reliable",
         "reliability", "reception", "scale", "2", 4, None, False),
        ("web_mobile_usable", "The site is usable on a smartphone",
         "e_procedures", "access", "yes_no", "1", None, None, False),
    ],
    "social_network": [
        ("sn_answered_within_24_hours", "A private message is answered within 24 hours",
         "reactivity", "processing", "max_duration", "3", None, "24", False),
        ("sn_answer_relevant", "The answer is correct or orients to the right service",
         "reliability", "processing", "yes_no", "2", None, None, False),
        ("sn_courtesy", "Tone and courtesy of the answer",
         "courtesy", "reception", "scale", "1", 4, None, False),
        ("sn_account_active", "The account published in the last 30 days",
         "accessibility", "access", "yes_no", "1", None, None, False),
    ],
    "visit": [
        ("visit_signage", "The reception desk is clearly signposted",
         "signage", "access", "yes_no", "1", None, None, False),
        ("visit_step_free_access", "Step-free access for people with reduced mobility",
         "accessibility", "access", "yes_no", "1", None, None, False),
        ("visit_wait_within_10_minutes", "Received within 10 minutes",
         "waiting", "reception", "max_duration", "2", None, "10", False),
        ("visit_greeting", "Welcome and courtesy of the agent",
         "courtesy", "reception", "scale", "2", 4, None, False),
        ("visit_orientation", "Oriented to the right service or person",
         "orientation", "reception", "yes_no", "2", None, None, True),
        ("visit_information", "The information given is correct and complete",
         "reliability", "processing", "scale", "3", 4, None, False),
    ],
}  # fmt: skip


def upgrade() -> None:
    create_messaging_tables()
    create_domain_tables()


def create_domain_tables() -> None:
    """The first slice's domain tables and seeded grids (also what fieldwork_0002's downgrade
    brings back)."""
    grids = op.create_table(
        "grids",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("code", "version", name="uq_grids_code_version"),
    )
    op.create_index("ix_grids_channel", "grids", ["channel"])
    grid_items = op.create_table(
        "grid_items",
        sa.Column(
            "grid_id", sa.Uuid(), sa.ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("criterion", sa.Text(), nullable=False),
        sa.Column("journey_step", sa.Text(), nullable=False),
        sa.Column("answer_type", sa.Text(), nullable=False),
        sa.Column("weight", sa.Numeric(8, 2), nullable=False),
        sa.Column("scale_max", sa.Integer()),
        sa.Column("target", sa.Numeric(12, 2)),
        sa.Column(
            "not_applicable_allowed", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
        sa.UniqueConstraint("grid_id", "code", name="uq_grid_items_grid_id_code"),
        sa.CheckConstraint(
            "answer_type IN ('yes_no', 'scale', 'max_duration')",
            name="ck_grid_items_answer_type",
        ),
        sa.CheckConstraint("weight > 0", name="ck_grid_items_weight_positive"),
    )
    op.create_table(
        "auditors",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("pseudonym", sa.Text(), nullable=False),
        sa.Column("home_commune_code", sa.Text()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("pseudonym", name="uq_auditors_pseudonym"),
    )
    op.create_table(
        "auditor_structure_links",
        sa.Column(
            "auditor_id",
            sa.Uuid(),
            sa.ForeignKey("auditors.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("structure_id", sa.Uuid(), primary_key=True),
    )
    op.create_index(
        "ix_auditor_structure_links_structure_id", "auditor_structure_links", ["structure_id"]
    )
    op.create_table(
        "site_plans",
        sa.Column("edition_id", sa.Uuid(), primary_key=True),
        sa.Column("site_id", sa.Uuid(), primary_key=True),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("registration_id", sa.Uuid(), nullable=False),
        sa.Column("offer", sa.Text(), nullable=False),
        sa.Column("source_event_id", sa.Uuid(), nullable=False),
        sa.Column(
            "planned_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_site_plans_structure_id", "site_plans", ["structure_id"])
    op.create_table(
        "audit_tasks",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("edition_id", sa.Uuid(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Uuid(), sa.ForeignKey("grids.id"), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default="planned"),
        sa.Column("auditor_id", sa.Uuid(), sa.ForeignKey("auditors.id")),
        sa.Column("remarks", sa.Text()),
        sa.Column("evidence", JSONB()),
        sa.Column("return_reason", sa.Text()),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column("validated_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint(
            "edition_id", "site_id", "channel", "sequence", name="uq_audit_tasks_slot"
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'assigned', 'in_progress', 'submitted', 'returned',"
            " 'validated', 'cancelled')",
            name="ck_audit_tasks_status",
        ),
    )
    op.create_index("ix_audit_tasks_edition_id", "audit_tasks", ["edition_id"])
    op.create_index("ix_audit_tasks_structure_id", "audit_tasks", ["structure_id"])
    op.create_index("ix_audit_tasks_auditor_id", "audit_tasks", ["auditor_id"])
    # The listing's keyset order within an edition.
    op.create_index(
        "ix_audit_tasks_listing",
        "audit_tasks",
        ["edition_id", "structure_id", "site_id", "channel", "sequence"],
    )
    op.create_table(
        "task_answers",
        sa.Column(
            "task_id",
            sa.Uuid(),
            sa.ForeignKey("audit_tasks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("item_code", sa.Text(), nullable=False),
        sa.Column("value_bool", sa.Boolean()),
        sa.Column("value_number", sa.Numeric(14, 4)),
        sa.Column("not_applicable", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    _seed_grids(grids, grid_items)


def _seed_grids(grids: sa.Table, grid_items: sa.Table) -> None:
    grid_rows, item_rows = [], []
    for channel, items in GRIDS.items():
        grid_id = uuid.uuid5(GRID_NAMESPACE, f"{channel}:1")
        grid_rows.append({"id": grid_id, "code": channel, "version": 1, "channel": channel})
        for position, (
            code,
            label,
            criterion,
            step,
            kind,
            weight,
            scale_max,
            target,
            na,
        ) in enumerate(items, start=1):
            item_rows.append(
                {
                    "grid_id": grid_id,
                    "position": position,
                    "code": code,
                    "label": label,
                    "criterion": criterion,
                    "journey_step": step,
                    "answer_type": kind,
                    "weight": Decimal(weight),
                    "scale_max": scale_max,
                    "target": Decimal(target) if target is not None else None,
                    "not_applicable_allowed": na,
                }
            )
    op.bulk_insert(grids, grid_rows)
    op.bulk_insert(grid_items, item_rows)


def downgrade() -> None:
    for name in (
        "task_answers",
        "audit_tasks",
        "site_plans",
        "auditor_structure_links",
        "auditors",
        "grid_items",
        "grids",
        "dead_letters",
        "inbox",
        "outbox",
    ):
        op.drop_table(name)
