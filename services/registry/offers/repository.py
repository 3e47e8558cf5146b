"""Queries of the offer catalogue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import OfferLine
from services.registry.queries import children, replace_children


async def catalogues(
    session: AsyncSession, edition_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[OfferLine]]:
    return await children(session, OfferLine, OfferLine.edition_id, edition_ids, OfferLine.position)


async def replace_catalogue(
    session: AsyncSession, edition_id: uuid.UUID, lines: Sequence[dict[str, object]]
) -> None:
    await replace_children(session, OfferLine, OfferLine.edition_id, edition_id, lines)
