"""Queries of the personalised report: remarks and the structure's past overall scores."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.reporting.models import Audit, Edition, FigureValue


async def remarks(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID
) -> list[tuple[str, datetime, str]]:
    rows = await session.execute(
        select(Audit.channel, Audit.validated_at, Audit.remarks)
        .where(
            Audit.edition_id == edition_id,
            Audit.structure_id == structure_id,
            Audit.remarks.is_not(None),
            Audit.remarks != "",
        )
        .order_by(Audit.channel, Audit.validated_at)
    )
    return [(r.channel, r.validated_at, r.remarks) for r in rows]


async def overall_history(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID
) -> list[tuple[int | None, str, Decimal]]:
    """(year, edition name, overall score) of the structure up to this edition, oldest first."""
    current = aliased(Edition)
    rows = await session.execute(
        select(Edition.year, Edition.name, FigureValue.score)
        .select_from(Edition)
        .join(current, current.edition_id == edition_id)
        .join(FigureValue, FigureValue.edition_id == Edition.edition_id)
        .where(
            FigureValue.structure_id == structure_id,
            FigureValue.dimension == "overall",
            Edition.year <= current.year,
        )
        .order_by(Edition.year)
    )
    return [(r.year, r.name, r.score) for r in rows]
