"""Queries of the national barometer: an edition's group statistics and earlier editions'."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.reporting.models import Edition, GroupStat, Participant
from services.reporting.readmodel.rules import PUBLISHED_STATUSES
from services.reporting.scorecards.repository import GROUP_COLUMNS, GroupRow


@dataclass(frozen=True)
class Stat:
    kind: str
    group_key: str
    dimension: str
    key: str
    figures: GroupRow


async def edition_stats(session: AsyncSession, edition_id: uuid.UUID) -> list[Stat]:
    rows = await session.execute(
        select(
            GroupStat.kind,
            GroupStat.group_key,
            GroupStat.dimension,
            GroupStat.key,
            *(getattr(GroupStat, c) for c in GROUP_COLUMNS),
        )
        .where(GroupStat.edition_id == edition_id, GroupStat.dimension != "item")
        .order_by(GroupStat.kind, GroupStat.group_key, GroupStat.dimension, GroupStat.key)
    )
    return [
        Stat(
            r.kind,
            r.group_key,
            r.dimension,
            r.key,
            GroupRow(*(r[4 + i] for i in range(len(GROUP_COLUMNS)))),
        )
        for r in rows
    ]


async def stratum_labels(session: AsyncSession, edition_id: uuid.UUID) -> dict[str, str]:
    rows = await session.execute(
        select(Participant.stratum_code, Participant.stratum_label)
        .where(Participant.edition_id == edition_id)
        .distinct()
    )
    return {r.stratum_code: r.stratum_label for r in rows}


@dataclass(frozen=True)
class PastFigure:
    edition_id: uuid.UUID
    year: int | None
    name: str
    dimension: str
    key: str
    structures: int
    mean: Decimal
    median: Decimal


async def evolution(session: AsyncSession, edition_id: uuid.UUID) -> list[PastFigure]:
    """The whole sample's overall and channel figures in this edition and every published
    earlier one, oldest first."""
    current = aliased(Edition)
    rows = await session.execute(
        select(
            Edition.edition_id,
            Edition.year,
            Edition.name,
            GroupStat.dimension,
            GroupStat.key,
            GroupStat.structures,
            GroupStat.mean,
            GroupStat.median,
        )
        .select_from(Edition)
        .join(current, current.edition_id == edition_id)
        .join(GroupStat, GroupStat.edition_id == Edition.edition_id)
        .where(
            GroupStat.kind == "sample",
            GroupStat.dimension.in_(("overall", "channel")),
            (Edition.edition_id == edition_id)
            | ((Edition.year < current.year) & Edition.status.in_(PUBLISHED_STATUSES)),
        )
        .order_by(Edition.year, GroupStat.dimension, GroupStat.key)
    )
    return [PastFigure(**r._asdict()) for r in rows]
