"""Tables of the registry service: editions and their strata, structures, sites,
certifications and registrations (territories: `territories/models.py`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.base import Base, metadata, tables
from services.registry.territories import models as territories  # noqa: F401 (registers them)

__all__ = ["Base", "metadata", "tables"]


# --- editions -------------------------------------------------------------------------------


class Edition(Base):
    __tablename__ = "editions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    min_population: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StratumRule(Base):
    """A stratum rule as copied into one edition, so a past edition keeps its own rules."""

    __tablename__ = "strata_rules"

    edition_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    structure_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    min_population: Mapped[int | None] = mapped_column(Integer)
    max_population: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)


# --- structures -----------------------------------------------------------------------------


class Structure(Base):
    __tablename__ = "structures"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("communes.code"))
    epci_siren: Mapped[str | None] = mapped_column(ForeignKey("epcis.siren"))
    departement_code: Mapped[str | None] = mapped_column(ForeignKey("departements.code"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    # Derived from the territory at creation; never typed in.
    population: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Certification(Base):
    __tablename__ = "certifications"

    structure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("structures.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    obtained_on: Mapped[date] = mapped_column(Date)


class Site(Base):
    __tablename__ = "sites"
    # At most one principal site per structure.
    __table_args__ = (
        Index(
            "uq_sites_principal",
            "structure_id",
            unique=True,
            postgresql_where=text("principal"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    structure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("structures.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    principal: Mapped[bool]


# --- registrations --------------------------------------------------------------------------


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("edition_id", "structure_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    edition_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("editions.id"), index=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structures.id"), index=True)
    offer: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    stratum_code: Mapped[str] = mapped_column(Text)
    stratum_label: Mapped[str] = mapped_column(Text)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
