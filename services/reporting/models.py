"""Read model of the reporting service, fed by registry, fieldwork and scoring events.

Figures arrive whole from scoring (`scoring.scores.updated.v1`); on each update the consumer
flattens them into `figure_values` and precomputes every group's statistics and every
structure's rank and percentile, so reads never scan an edition. `documents` caches rendered
answers per edition version (the ETag).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, LargeBinary, Numeric, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.access_log import access_log_table
from shared.db import service_metadata
from shared.opt_ins import partner_access_table
from shared.tables import messaging_tables

metadata = service_metadata()
tables = messaging_tables(metadata)
access_log = access_log_table(metadata)
partner_access = partner_access_table(metadata)  # partners' opt-ins, copied from the registry

SCORE = Numeric(14, 10)  # scores /100 with scoring's 10 exact decimals


class Base(DeclarativeBase):
    metadata = metadata


class Edition(Base):
    __tablename__ = "editions"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    year: Mapped[int | None]
    number: Mapped[int | None]
    name: Mapped[str] = mapped_column(Text, server_default="")
    status: Mapped[str] = mapped_column(Text, server_default="draft")
    results_dispatch_on: Mapped[date | None]
    generation: Mapped[int] = mapped_column(server_default="0")
    # figures changed since the last refresh of ranks and statistics (see readmodel.refresher)
    stale: Mapped[bool] = mapped_column(server_default="false")
    version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    laureates_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Participant(Base):
    """A structure accepted into an edition, with the stratum it is compared within."""

    __tablename__ = "participants"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_name: Mapped[str] = mapped_column(Text, server_default="")
    structure_type: Mapped[str] = mapped_column(Text)
    stratum_code: Mapped[str] = mapped_column(Text)
    stratum_label: Mapped[str] = mapped_column(Text)
    certified: Mapped[bool]
    offer: Mapped[str] = mapped_column(Text, server_default="standard")
    options: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    competes_for_trophies: Mapped[bool] = mapped_column(server_default="false")
    withdrawn: Mapped[bool] = mapped_column(server_default="false")


class StructureFigures(Base):
    """The last figures scoring sent for a structure (its whole `StructureFiguresV1`)."""

    __tablename__ = "structure_figures"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    generation: Mapped[int]
    stratum_code: Mapped[str] = mapped_column(Text)
    structure_type: Mapped[str] = mapped_column(Text)
    certified: Mapped[bool]
    audits: Mapped[int]
    score: Mapped[Decimal | None] = mapped_column(SCORE)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
    perceived: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Scoring's version of these figures: an older update applied late by another member of
    # the durable consumer changes nothing.
    version: Mapped[int | None] = mapped_column(BigInteger)


class FigureValue(Base):
    """One figure of one structure (dimension `overall`, `channel`, `journey_step`, `criterion`
    or `item`), with its precomputed place in its stratum and in the sample."""

    __tablename__ = "figure_values"
    __table_args__ = (Index("ix_figure_values_dimension", "edition_id", "dimension", "key"),)

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    stratum_code: Mapped[str] = mapped_column(Text)
    structure_type: Mapped[str] = mapped_column(Text)
    certified: Mapped[bool]
    score: Mapped[Decimal] = mapped_column(SCORE)
    audits: Mapped[int]
    sum_squares: Mapped[Decimal | None] = mapped_column(Numeric)
    stratum_rank: Mapped[int | None]
    stratum_size: Mapped[int | None]
    stratum_percentile: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    sample_rank: Mapped[int | None]
    sample_size: Mapped[int | None]
    sample_percentile: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))


class GroupStat(Base):
    """Statistics of one figure over a group's structures (sample, stratum, type, certified)."""

    __tablename__ = "group_stats"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    group_key: Mapped[str] = mapped_column(Text, primary_key=True)
    dimension: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    structures: Mapped[int]
    audits: Mapped[int]
    mean: Mapped[Decimal] = mapped_column(SCORE)
    median: Mapped[Decimal] = mapped_column(SCORE)
    q1: Mapped[Decimal] = mapped_column(SCORE)
    q3: Mapped[Decimal] = mapped_column(SCORE)
    p10: Mapped[Decimal] = mapped_column(SCORE)
    p90: Mapped[Decimal] = mapped_column(SCORE)
    performing: Mapped[int]


class Audit(Base):
    """A validated audit as fieldwork last sent it (highest revision): its grid and remarks."""

    __tablename__ = "audits"
    __table_args__ = (Index("ix_audits_structure", "edition_id", "structure_id"),)

    audit_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    revision: Mapped[int]
    edition_id: Mapped[uuid.UUID]
    structure_id: Mapped[uuid.UUID]
    channel: Mapped[str] = mapped_column(Text)
    grid_code: Mapped[str] = mapped_column(Text)
    grid_version: Mapped[int]
    remarks: Mapped[str | None] = mapped_column(Text)
    validated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Document(Base):
    """A rendered answer (JSON bytes) for one edition version; stale once the version moves."""

    __tablename__ = "documents"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[bytes] = mapped_column(LargeBinary)
