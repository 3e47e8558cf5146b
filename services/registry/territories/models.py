"""Territory tables: régions, départements, communes (and their delegated/associated communes
and municipal arrondissements), EPCI and their members, populations per vintage, imports.

Each territory row holds the attributes of the latest vintage it appeared in (`vintage`);
a row is current when that is the latest imported vintage. Populations of every vintage stay
in `territory_populations`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.base import Base


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    chef_lieu_code: Mapped[str | None] = mapped_column(Text)
    zone: Mapped[str | None] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(BigInteger)  # its current communes' sum
    vintage: Mapped[int] = mapped_column(Integer, index=True)


class Departement(Base):
    __tablename__ = "departements"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    chef_lieu_code: Mapped[str | None] = mapped_column(Text)
    zone: Mapped[str | None] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(BigInteger)  # its current communes' sum
    vintage: Mapped[int] = mapped_column(Integer, index=True)


class Commune(Base):
    """A current commune (`commune-actuelle`), keyed by its INSEE code."""

    __tablename__ = "communes"
    __table_args__ = (Index("ix_communes_ranking", text("coalesce(population, -1) DESC"), "code"),)

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    search_name: Mapped[str] = mapped_column(Text)  # rules.search_key(name)
    departement_code: Mapped[str] = mapped_column(ForeignKey("departements.code"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    siren: Mapped[str | None] = mapped_column(Text)
    postal_codes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    zone: Mapped[str | None] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)
    vintage: Mapped[int] = mapped_column(Integer, index=True)


class CommunePart(Base):
    """A delegated or associated commune, or a municipal arrondissement, of a current commune.

    A delegated commune often keeps the INSEE code of its commune nouvelle, hence the key
    (kind, code) and a table apart from `communes`.
    """

    __tablename__ = "commune_parts"

    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    code: Mapped[str] = mapped_column(Text, primary_key=True, index=True)
    name: Mapped[str] = mapped_column(Text)
    search_name: Mapped[str] = mapped_column(Text)
    parent_code: Mapped[str] = mapped_column(ForeignKey("communes.code"), index=True)
    departement_code: Mapped[str] = mapped_column(ForeignKey("departements.code"))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    population: Mapped[int | None] = mapped_column(Integer)
    vintage: Mapped[int] = mapped_column(Integer)


class Epci(Base):
    __tablename__ = "epcis"

    siren: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    search_name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    financing_mode: Mapped[str | None] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)  # populationTotale
    population_municipale: Mapped[int | None] = mapped_column(Integer)
    vintage: Mapped[int] = mapped_column(Integer, index=True)


class EpciMember(Base):
    """A commune's membership of an EPCI, as of the latest vintage."""

    __tablename__ = "epci_members"

    epci_siren: Mapped[str] = mapped_column(
        ForeignKey("epcis.siren", ondelete="CASCADE"), primary_key=True
    )
    commune_code: Mapped[str] = mapped_column(
        ForeignKey("communes.code", ondelete="CASCADE"), primary_key=True, index=True
    )


class TerritoryPopulation(Base):
    """The legal population of one territory in one vintage (kept across imports)."""

    __tablename__ = "territory_populations"

    kind: Mapped[str] = mapped_column(Text, primary_key=True)  # region, departement, commune...
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    vintage: Mapped[int] = mapped_column(Integer, primary_key=True)
    population: Mapped[int] = mapped_column(BigInteger)


class TerritoryImport(Base):
    """One run of an import, with the report it gave."""

    __tablename__ = "territory_imports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    vintage: Mapped[int] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    report: Mapped[dict[str, Any]] = mapped_column(JSONB)
