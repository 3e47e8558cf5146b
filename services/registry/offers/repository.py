"""Queries of the offer catalogue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import OfferLine


async def catalogues(
    session: AsyncSession, edition_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[OfferLine]]:
    rows = await session.scalars(
        select(OfferLine)
        .where(OfferLine.edition_id.in_(edition_ids))
        .order_by(OfferLine.edition_id, OfferLine.position)
    )
    found: dict[uuid.UUID, list[OfferLine]] = {e: [] for e in edition_ids}
    for row in rows:
        found[row.edition_id].append(row)
    return found


async def replace_catalogue(
    session: AsyncSession, edition_id: uuid.UUID, lines: Sequence[dict[str, object]]
) -> None:
    await session.execute(delete(OfferLine).where(OfferLine.edition_id == edition_id))
    if lines:
        await session.execute(
            insert(OfferLine), [{"edition_id": edition_id, **line} for line in lines]
        )
