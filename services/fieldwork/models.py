"""Tables of the fieldwork service: editions' fieldwork settings, grids, site plans, auditors,
audit tasks with their answers and history, appeals, and citizen-voice records."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.fieldwork.statuses import AppealStatus, TaskStatus
from shared.db import service_metadata
from shared.opt_ins import partner_access_table
from shared.tables import messaging_tables

metadata = service_metadata()
tables = messaging_tables(metadata)
partner_access = partner_access_table(metadata)  # partners' opt-ins, copied from the registry


class Base(DeclarativeBase):
    metadata = metadata


class FieldworkEdition(Base):
    """What fieldwork knows of an edition: its calendar and quotas (from the registry's events)
    and the operator's fieldwork settings."""

    __tablename__ = "editions"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    year: Mapped[int | None] = mapped_column(Integer)
    # [{"channel", "starts_on", "ends_on"}]; empty until an event carries them.
    windows: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    # [{"channel", "audits_per_site", "requires_option"}]
    quotas: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    auto_validate: Mapped[bool] = mapped_column(Boolean, server_default="false")
    appeal_opens_on: Mapped[date | None] = mapped_column(Date)
    appeal_closes_on: Mapped[date | None] = mapped_column(Date)
    planning_seed: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Grid(Base):
    """One version of a grid (its definition is the published contract); immutable once used."""

    __tablename__ = "grids"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_grids_code_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(Text, index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    source: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SitePlan(Base):
    """A site planned for an edition, with what its audits need from the registration."""

    __tablename__ = "site_plans"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(index=True)
    registration_id: Mapped[uuid.UUID]
    structure_type: Mapped[str] = mapped_column(Text)
    stratum_code: Mapped[str] = mapped_column(Text)
    certified: Mapped[bool] = mapped_column(Boolean)
    departement_code: Mapped[str | None] = mapped_column(Text)
    offer: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    contacts: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    scenario_codes: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    source_event_id: Mapped[uuid.UUID]
    source_version: Mapped[int] = mapped_column(Integer)
    planned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Auditor(Base):
    """A mystery auditor, known to the operator only; structures never see who audited them."""

    __tablename__ = "auditors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(Text)
    # Case- and accent-folded pseudonym: "Éloïse" and "eloise" are the same auditor name.
    pseudonym_key: Mapped[str] = mapped_column(Text, unique=True)
    home_departement_code: Mapped[str] = mapped_column(Text)
    channels: Mapped[list[str]] = mapped_column(JSONB)
    weekly_capacity: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditorStructureLink(Base):
    """A structure the auditor is linked to (works there, family...): never theirs to audit."""

    __tablename__ = "auditor_structure_links"

    auditor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auditors.id", ondelete="CASCADE"), primary_key=True
    )
    structure_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)


class AuditTask(Base):
    __tablename__ = "audit_tasks"
    __table_args__ = (
        # A site belongs to one structure: unique per site, and in the listing's order.
        UniqueConstraint(
            "edition_id",
            "structure_id",
            "site_id",
            "channel",
            "sequence",
            name="uq_audit_tasks_slot",
        ),
        # No two audits of one channel on one site the same day.
        UniqueConstraint(
            "edition_id", "site_id", "channel", "planned_on", name="uq_audit_tasks_day"
        ),
        CheckConstraint(
            "status IN ('planned', 'assigned', 'in_progress', 'submitted',"
            " 'returned_for_correction', 'validated', 'cancelled')",
            name="status",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    edition_id: Mapped[uuid.UUID] = mapped_column()
    structure_id: Mapped[uuid.UUID] = mapped_column()
    site_id: Mapped[uuid.UUID]
    channel: Mapped[str] = mapped_column(Text)
    sequence: Mapped[int] = mapped_column(Integer)
    planned_on: Mapped[date] = mapped_column(Date)
    scenario_code: Mapped[str | None] = mapped_column(Text)
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grids.id"))
    status: Mapped[str] = mapped_column(Text, server_default=TaskStatus.PLANNED.value)
    auditor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auditors.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer, server_default="0")
    remarks: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    reply_delay_working_days: Mapped[int | None] = mapped_column(Integer)
    return_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Set by each transition (in Python, so the row never has to be reloaded after a flush).
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TaskTransition(Base):
    """One step of a task's life: who moved it, when, from which status to which, and why."""

    __tablename__ = "task_transitions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("audit_tasks.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    actor_role: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TaskAnswer(Base):
    """One answer of the latest submission of a task, typed so a number never reads as a bool."""

    __tablename__ = "task_answers"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("audit_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_code: Mapped[str] = mapped_column(Text)
    value_bool: Mapped[bool | None] = mapped_column(Boolean)
    value_number: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    value_text: Mapped[str | None] = mapped_column(Text)
    not_applicable: Mapped[bool] = mapped_column(Boolean, server_default="false")


class Appeal(Base):
    """A structure contesting one item of one of its validated audits."""

    __tablename__ = "appeals"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'upheld', 'rejected')", name="status"),
        Index(
            "uq_appeals_open_item",
            "task_id",
            "item_code",
            unique=True,
            postgresql_where="status = 'open'",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audit_tasks.id", ondelete="CASCADE"))
    edition_id: Mapped[uuid.UUID] = mapped_column(index=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(index=True)
    item_code: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=AppealStatus.OPEN.value)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    corrected_answer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VoiceRecord(Base):
    """One accepted piece of citizen voice sent by a partner (comments with names masked)."""

    __tablename__ = "voice_records"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    partner: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    edition_id: Mapped[uuid.UUID] = mapped_column(index=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(index=True)
    site_id: Mapped[uuid.UUID | None]
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IdempotentRequest(Base):
    """The answer given to a partner's request under an `Idempotency-Key`, replayed on retry."""

    __tablename__ = "idempotent_requests"

    partner: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    request_hash: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
