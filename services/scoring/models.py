"""Tables of the scoring service."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Integer, Numeric, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata
from shared.tables import messaging_tables

metadata = service_metadata()
tables = messaging_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


class AuditScore(Base):
    """The score of one validated audit, computed from the grid and answers in its event."""

    __tablename__ = "audit_scores"

    audit_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    edition_id: Mapped[uuid.UUID] = mapped_column(index=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(index=True)
    site_id: Mapped[uuid.UUID]
    channel: Mapped[str] = mapped_column(Text)
    grid_code: Mapped[str] = mapped_column(Text)
    grid_version: Mapped[int]
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    points_obtained: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    points_possible: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    source_event_id: Mapped[uuid.UUID]
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GridCopy(Base):
    """A published grid version, as `fieldwork.grid.published.v1` carried it."""

    __tablename__ = "grid_copies"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
