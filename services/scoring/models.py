"""Tables of the scoring service.

Aggregates are keyed by a `generation` per edition: readers follow `edition_state.generation`;
a re-score builds generation g+1 aside and swaps it in by updating that one row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, BigInteger, DateTime, Index, Integer, Numeric, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.access_log import access_log_table
from shared.db import service_metadata
from shared.tables import messaging_tables

metadata = service_metadata()
tables = messaging_tables(metadata)
access_log = access_log_table(metadata)

EXACT = Numeric(30, 10)  # the stored form of a score (`engine.rules.SCALE`)
SUM = Numeric(40, 10)  # sums of stored scores
SQUARES = Numeric(50, 20)  # sums of squared stored scores


class Base(DeclarativeBase):
    metadata = metadata


class Grid(Base):
    """Scoring's copy of a published grid (immutable once published)."""

    __tablename__ = "grids"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(Text)
    rules_version: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Audit(Base):
    """The winning revision of each validated audit: scoring's own stored copy (re-scores replay
    these), with its score once its grid is known (`status` 'pending' until then)."""

    __tablename__ = "audits"
    __table_args__ = (
        Index("ix_audits_edition_structure", "edition_id", "structure_id"),
        Index(
            "ix_audits_pending_grid",
            "grid_code",
            "grid_version",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    audit_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    edition_id: Mapped[uuid.UUID]
    revision: Mapped[int]
    validated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event_id: Mapped[uuid.UUID]
    subject: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)  # the event's payload, JSON as received
    structure_id: Mapped[uuid.UUID]
    site_id: Mapped[uuid.UUID]
    channel: Mapped[str] = mapped_column(Text)
    stratum_code: Mapped[str] = mapped_column(Text)
    structure_type: Mapped[str] = mapped_column(Text)
    certified: Mapped[bool]
    grid_code: Mapped[str] = mapped_column(Text)
    grid_version: Mapped[int]
    status: Mapped[str] = mapped_column(Text)  # scored | pending | rejected
    rejection: Mapped[str | None] = mapped_column(Text)  # why a parked audit could not score
    score: Mapped[Decimal | None] = mapped_column(EXACT)
    points_obtained: Mapped[Decimal | None] = mapped_column(SUM)
    points_possible: Mapped[Decimal | None] = mapped_column(SUM)
    methodology: Mapped[str | None] = mapped_column(Text)
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Cell(Base):
    """Sums of the audits of one (structure, site, channel, grid): one audit costs one upsert
    here whatever the edition's size. Arrays follow the grid's item / criterion / step orders;
    totals are sums of per-audit scores /100, counts the audits where that entry applied."""

    __tablename__ = "cells"

    generation: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    grid_code: Mapped[str] = mapped_column(Text, primary_key=True)
    grid_version: Mapped[int] = mapped_column(primary_key=True)
    audits: Mapped[int]
    score_total: Mapped[Decimal] = mapped_column(SUM)
    # Sum of squared audit scores (20 decimals); NULL for cells written before it was kept.
    score_squares: Mapped[Decimal | None] = mapped_column(SQUARES)
    item_totals: Mapped[list[Decimal]] = mapped_column(ARRAY(SUM))
    item_counts: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    criterion_totals: Mapped[list[Decimal]] = mapped_column(ARRAY(SUM))
    criterion_counts: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    step_totals: Mapped[list[Decimal]] = mapped_column(ARRAY(SUM))
    step_counts: Mapped[list[int]] = mapped_column(ARRAY(Integer))


class StructureScore(Base):
    """A structure's figures at every level (channel, site, criterion, journey step, item),
    derived from its cells after each batch that touched it."""

    __tablename__ = "structure_scores"
    __table_args__ = tuple(
        Index(f"ix_structure_scores_{c}", "generation", "edition_id", c)
        for c in ("stratum_code", "structure_type", "certified")
    )

    generation: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stratum_code: Mapped[str] = mapped_column(Text)
    structure_type: Mapped[str] = mapped_column(Text)
    certified: Mapped[bool]
    attributes_as_of: Mapped[str] = mapped_column(Text)  # validated_at|audit_id of their audit
    audits: Mapped[int]
    score: Mapped[Decimal | None] = mapped_column(EXACT)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # One more at each re-derivation (under the structure's lock), sent with the figures: a
    # reader whose members apply updates concurrently keeps the highest, never an older one.
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class GroupStats(Base):
    """Statistics of a group of structures (sample, stratum, structure type, certified)."""

    __tablename__ = "group_stats"

    generation: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    structures: Mapped[int] = mapped_column(server_default=text("0"))
    audits: Mapped[int] = mapped_column(server_default=text("0"))
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    dirty: Mapped[bool] = mapped_column(server_default=text("true"))
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EditionState(Base):
    """Which generation readers follow, the settings it was computed with, and the re-score
    in progress (if any)."""

    __tablename__ = "edition_state"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(server_default=text("1"))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB)
    building_generation: Mapped[int | None]
    building_settings: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    rescore_cursor: Mapped[uuid.UUID | None]
    rescore_status: Mapped[str | None] = mapped_column(Text)  # running | done | failed
    rescore_total: Mapped[int] = mapped_column(server_default=text("0"))
    rescore_done: Mapped[int] = mapped_column(server_default=text("0"))
    rescore_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rescore_finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EditionSettings(Base):
    """Edition settings scoring needs, edited by the operator through scoring's API until the
    registry publishes them (defaults apply when absent)."""

    __tablename__ = "edition_settings"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    performing_threshold: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    channel_weights: Mapped[dict[str, str]] = mapped_column(JSONB)
    min_voice_responses: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Voice(Base):
    """One piece of perceived quality (no comment kept: it may name agents)."""

    __tablename__ = "voices"

    voice_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    edition_id: Mapped[uuid.UUID]
    structure_id: Mapped[uuid.UUID]
    site_id: Mapped[uuid.UUID | None]
    kind: Mapped[str] = mapped_column(Text)


class VoiceSums(Base):
    """Perceived-quality sums per (structure, site); site nil-UUID for structure-wide input."""

    __tablename__ = "voice_sums"

    edition_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    responses: Mapped[int] = mapped_column(server_default=text("0"))
    satisfaction_total: Mapped[Decimal] = mapped_column(SUM, server_default=text("0"))
    agent_responses: Mapped[int] = mapped_column(server_default=text("0"))
    agent_total: Mapped[Decimal] = mapped_column(SUM, server_default=text("0"))
    consultations: Mapped[int] = mapped_column(server_default=text("0"))
    participants: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    population_reached: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class DeadLetterReplay(Base):
    """A dead letter the operator replayed, and how it went."""

    __tablename__ = "dead_letter_replays"

    dead_letter_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    outcome: Mapped[str] = mapped_column(Text)
    replayed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
