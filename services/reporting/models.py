"""Read model of the reporting service, fed by registry and scoring events."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import Numeric, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata
from shared.tables import messaging_tables

metadata = service_metadata()
tables = messaging_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


class Participant(Base):
    """A structure accepted into an edition, with the stratum it is compared within."""

    __tablename__ = "participants"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_type: Mapped[str] = mapped_column(Text)
    stratum_code: Mapped[str] = mapped_column(Text)
    stratum_label: Mapped[str] = mapped_column(Text)
    certified: Mapped[bool]


class ScoredAudit(Base):
    __tablename__ = "scored_audits"

    audit_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    edition_id: Mapped[uuid.UUID] = mapped_column(index=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(Text)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
