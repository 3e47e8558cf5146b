"""Queries of the scorecard: one structure's precomputed figures beside its groups'."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.reporting.models import (
    Audit,
    Edition,
    FigureValue,
    GroupStat,
    Participant,
    StructureFigures,
)


@dataclass(frozen=True)
class GroupRow:
    structures: int
    audits: int
    mean: Decimal
    median: Decimal
    q1: Decimal
    q3: Decimal
    p10: Decimal
    p90: Decimal
    performing: int


@dataclass(frozen=True)
class ValueRow:
    dimension: str
    key: str
    score: Decimal
    audits: int
    sum_squares: Decimal | None
    stratum_rank: int | None
    stratum_percentile: Decimal | None
    sample_rank: int | None
    sample_percentile: Decimal | None
    stratum: GroupRow | None
    sample: GroupRow | None


GROUP_COLUMNS = ("structures", "audits", "mean", "median", "q1", "q3", "p10", "p90", "performing")


def _group(row: Any, prefix: str) -> GroupRow | None:
    if getattr(row, f"{prefix}_structures") is None:
        return None
    return GroupRow(*(getattr(row, f"{prefix}_{c}") for c in GROUP_COLUMNS))


async def structure_values(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID
) -> list[ValueRow]:
    stratum, sample = aliased(GroupStat), aliased(GroupStat)

    def joined(alias: Any, kind: str, key: Any) -> Any:
        return and_(
            alias.edition_id == FigureValue.edition_id,
            alias.kind == kind,
            alias.group_key == key,
            alias.dimension == FigureValue.dimension,
            alias.key == FigureValue.key,
        )

    rows = await session.execute(
        select(
            FigureValue.dimension,
            FigureValue.key,
            FigureValue.score,
            FigureValue.audits,
            FigureValue.sum_squares,
            FigureValue.stratum_rank,
            FigureValue.stratum_percentile,
            FigureValue.sample_rank,
            FigureValue.sample_percentile,
            *(getattr(stratum, c).label(f"stratum_{c}") for c in GROUP_COLUMNS),
            *(getattr(sample, c).label(f"sample_{c}") for c in GROUP_COLUMNS),
        )
        .outerjoin(stratum, joined(stratum, "stratum", FigureValue.stratum_code))
        .outerjoin(sample, joined(sample, "sample", ""))
        .where(FigureValue.edition_id == edition_id, FigureValue.structure_id == structure_id)
        .order_by(FigureValue.dimension, FigureValue.key)
    )
    return [
        ValueRow(
            r.dimension,
            r.key,
            r.score,
            r.audits,
            r.sum_squares,
            r.stratum_rank,
            r.stratum_percentile,
            r.sample_rank,
            r.sample_percentile,
            _group(r, "stratum"),
            _group(r, "sample"),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class StructureHead:
    name: str
    structure_type: str
    stratum_code: str
    stratum_label: str
    certified: bool
    offer: str
    options: list[str]
    figures: dict[str, Any]
    perceived: dict[str, Any] | None


async def structure_head(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID
) -> StructureHead | None:
    """The structure's identity (registry) and raw figures (scoring); None without figures."""
    row = (
        await session.execute(
            select(StructureFigures, Participant)
            .outerjoin(
                Participant,
                (Participant.edition_id == StructureFigures.edition_id)
                & (Participant.structure_id == StructureFigures.structure_id),
            )
            .where(
                StructureFigures.edition_id == edition_id,
                StructureFigures.structure_id == structure_id,
            )
        )
    ).one_or_none()
    if row is None:
        return None
    figures, participant = row
    return StructureHead(
        name=participant.structure_name if participant else "",
        structure_type=figures.structure_type,
        stratum_code=figures.stratum_code,
        stratum_label=participant.stratum_label if participant else figures.stratum_code,
        certified=figures.certified,
        offer=participant.offer if participant else "standard",
        options=list(participant.options) if participant else [],
        figures=figures.figures,
        perceived=figures.perceived,
    )


@dataclass(frozen=True)
class PreviousEdition:
    edition_id: uuid.UUID
    year: int | None
    settings: dict[str, Any]
    scores: dict[tuple[str, str], Decimal]


async def previous_edition(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID
) -> PreviousEdition | None:
    """The latest earlier edition (by year) in which the structure has figures, and those."""
    current = aliased(Edition)
    found = (
        await session.execute(
            select(Edition.edition_id, Edition.year, Edition.settings)
            .select_from(Edition)
            .join(current, current.edition_id == edition_id)
            .join(
                FigureValue,
                (FigureValue.edition_id == Edition.edition_id)
                & (FigureValue.structure_id == structure_id)
                & (FigureValue.dimension == "overall"),
            )
            .where(Edition.year < current.year)
            .order_by(Edition.year.desc())
            .limit(1)
        )
    ).one_or_none()
    if found is None:
        return None
    rows = await session.execute(
        select(FigureValue.dimension, FigureValue.key, FigureValue.score).where(
            FigureValue.edition_id == found.edition_id, FigureValue.structure_id == structure_id
        )
    )
    return PreviousEdition(
        found.edition_id,
        found.year,
        dict(found.settings or {}),
        {(r.dimension, r.key): r.score for r in rows},
    )


async def grids_by_channel(
    session: AsyncSession, edition_ids: list[uuid.UUID], structure_id: uuid.UUID
) -> dict[uuid.UUID, dict[str, frozenset[tuple[str, int]]]]:
    rows = await session.execute(
        select(Audit.edition_id, Audit.channel, Audit.grid_code, Audit.grid_version)
        .where(Audit.edition_id.in_(edition_ids), Audit.structure_id == structure_id)
        .distinct()
    )
    found: dict[uuid.UUID, dict[str, set[tuple[str, int]]]] = defaultdict(lambda: defaultdict(set))
    for r in rows:
        found[r.edition_id][r.channel].add((r.grid_code, r.grid_version))
    return {e: {c: frozenset(g) for c, g in by.items()} for e, by in found.items()}
