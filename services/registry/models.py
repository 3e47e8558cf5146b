"""Tables of the registry service (territories: `territories/models.py`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.base import Base, idempotency, metadata, tables
from services.registry.territories import models as territories  # noqa: F401 (registers them)
from services.registry.webhooks import models as webhooks  # noqa: F401 (registers them)
from shared.access_log import access_log_table

__all__ = ["Base", "idempotency", "metadata", "tables"]


# --- editions -------------------------------------------------------------------------------


class Edition(Base):
    __tablename__ = "editions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    trophies_name: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    preset: Mapped[str | None] = mapped_column(Text)
    copied_from: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # eligibility
    min_population: Mapped[int | None] = mapped_column(Integer)
    min_intercommunality_population: Mapped[int | None] = mapped_column(Integer)
    max_accepted: Mapped[int | None] = mapped_column(Integer)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    # calendar (the fieldwork windows: `edition_windows`)
    registration_deadline: Mapped[date | None] = mapped_column(Date)
    selection_notice_on: Mapped[date | None] = mapped_column(Date)
    results_dispatch_on: Mapped[date | None] = mapped_column(Date)
    ceremony_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EditionWindow(Base):
    __tablename__ = "edition_windows"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    edition_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    position: Mapped[int] = mapped_column(Integer)


class EditionQuota(Base):
    __tablename__ = "edition_quotas"

    edition_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    audits_per_site: Mapped[int] = mapped_column(Integer)
    requires_option: Mapped[str | None] = mapped_column(Text)


class EditionTransition(Base):
    """Each status change of an edition: who moved it, when, from what to what."""

    __tablename__ = "edition_transitions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    edition_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    actor_role: Mapped[str] = mapped_column(Text)
    actor_subject: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OfferLine(Base):
    """A line of an edition's offer catalogue: an offer or an option, priced excl. VAT."""

    __tablename__ = "offer_lines"

    edition_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(Text)
    offers: Mapped[list[str]] = mapped_column(ARRAY(Text))
    max_sites: Mapped[int | None] = mapped_column(Integer)
    operator_only: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(Integer)


class StratumRule(Base):
    """A stratum rule of one edition, so a past edition keeps its own rules."""

    __tablename__ = "strata_rules"

    edition_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    structure_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    min_population: Mapped[int | None] = mapped_column(Integer)
    min_inclusive: Mapped[bool] = mapped_column(Boolean)
    max_population: Mapped[int | None] = mapped_column(Integer)
    max_inclusive: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(Integer)


# --- structures -----------------------------------------------------------------------------


class Structure(Base):
    __tablename__ = "structures"
    __table_args__ = (
        Index(
            "uq_structures_siren", "siren", unique=True, postgresql_where=text("siren IS NOT NULL")
        ),
        UniqueConstraint("type", "territory_code", name="uq_structures_type_territory"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text, index=True)
    siren: Mapped[str | None] = mapped_column(Text)
    # The code of the territory the structure is in or stands for (commune, EPCI SIREN,
    # département or région code): with the type, what makes a structure unique.
    territory_code: Mapped[str] = mapped_column(Text)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("communes.code"))
    epci_siren: Mapped[str | None] = mapped_column(ForeignKey("epcis.siren"))
    departement_code: Mapped[str | None] = mapped_column(
        ForeignKey("departements.code"), index=True
    )
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    # Derived from the territory; never typed in.
    population: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Certification(Base):
    __tablename__ = "certifications"

    structure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("structures.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    obtained_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)


class Site(Base):
    __tablename__ = "sites"
    # At most one principal site per structure.
    __table_args__ = (
        Index(
            "uq_sites_principal", "structure_id", unique=True, postgresql_where=text("principal")
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    structure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("structures.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    principal: Mapped[bool]
    commune_code: Mapped[str | None] = mapped_column(Text)
    departement_code: Mapped[str | None] = mapped_column(Text)


class ContactPoint(Base):
    __tablename__ = "contact_points"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)


# --- registrations --------------------------------------------------------------------------


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("edition_id", "structure_id"),
        Index("ix_registrations_status", "edition_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    edition_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("editions.id"), index=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("structures.id"), index=True)
    offer: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(ARRAY(Text))
    site_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    competes_for_trophies: Mapped[bool] = mapped_column(Boolean)
    applied_by: Mapped[str] = mapped_column(Text)  # "structure" or "operator"
    status: Mapped[str] = mapped_column(Text)
    # Derived from the edition's rules; None while no rule matches the structure.
    stratum_code: Mapped[str | None] = mapped_column(Text)
    stratum_label: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    waitlisted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- clients and partners' opt-ins ----------------------------------------------------------


class Client(Base):
    """An OAuth2 client (a partner or a machine): its secret is kept only as an argon2 hash."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    secret_hash: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PartnerOptIn(Base):
    """A structure lets a partner (client) reach its data. This exact table is also read by the
    webhooks domain."""

    __tablename__ = "partner_opt_ins"

    structure_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    granted_by: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


access_log = access_log_table(metadata)
