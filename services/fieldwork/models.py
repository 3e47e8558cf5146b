"""Tables of the fieldwork service: grids, auditors, site plans, audit tasks and their answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
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

from shared.db import service_metadata
from shared.tables import messaging_tables

metadata = service_metadata()
tables = messaging_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


class TaskStatus(StrEnum):
    PLANNED = "planned"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    VALIDATED = "validated"
    CANCELLED = "cancelled"


class Grid(Base):
    """One version of the audit grid of a channel; versions are never edited once used."""

    __tablename__ = "grids"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_grids_code_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(Text, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GridItem(Base):
    __tablename__ = "grid_items"
    __table_args__ = (
        UniqueConstraint("grid_id", "code", name="uq_grid_items_grid_id_code"),
        CheckConstraint("answer_type IN ('yes_no', 'scale', 'max_duration')", name="answer_type"),
        CheckConstraint("weight > 0", name="weight_positive"),
    )

    grid_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    criterion: Mapped[str] = mapped_column(Text)
    journey_step: Mapped[str] = mapped_column(Text)
    answer_type: Mapped[str] = mapped_column(Text)
    weight: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    scale_max: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    not_applicable_allowed: Mapped[bool] = mapped_column(Boolean, server_default="false")


class Auditor(Base):
    """A mystery auditor, known to the operator only; structures never see who audited them."""

    __tablename__ = "auditors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(Text, unique=True)
    home_commune_code: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditorStructureLink(Base):
    """A structure the auditor is linked to (works there, family...): never theirs to audit."""

    __tablename__ = "auditor_structure_links"

    auditor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auditors.id", ondelete="CASCADE"), primary_key=True
    )
    structure_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)


class SitePlan(Base):
    """That a site's tasks were planned for an edition: planning a site twice is a no-op."""

    __tablename__ = "site_plans"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(index=True)
    registration_id: Mapped[uuid.UUID]
    offer: Mapped[str] = mapped_column(Text)
    source_event_id: Mapped[uuid.UUID]
    planned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditTask(Base):
    __tablename__ = "audit_tasks"
    __table_args__ = (
        UniqueConstraint(
            "edition_id", "site_id", "channel", "sequence", name="uq_audit_tasks_slot"
        ),
        # The listing's keyset order within an edition.
        Index(
            "ix_audit_tasks_listing", "edition_id", "structure_id", "site_id", "channel", "sequence"
        ),
        CheckConstraint(
            "status IN ('planned', 'assigned', 'in_progress', 'submitted', 'returned',"
            " 'validated', 'cancelled')",
            name="status",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    edition_id: Mapped[uuid.UUID] = mapped_column(index=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(index=True)
    site_id: Mapped[uuid.UUID]
    channel: Mapped[str] = mapped_column(Text)
    sequence: Mapped[int] = mapped_column(Integer)
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grids.id"))
    status: Mapped[str] = mapped_column(Text, server_default=TaskStatus.PLANNED.value)
    auditor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auditors.id"), index=True)
    remarks: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    return_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Set by each transition (in Python, so the row never has to be reloaded after a flush).
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


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
    not_applicable: Mapped[bool] = mapped_column(Boolean, server_default="false")
