"""Queries of the citizen-voice intake."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.models import SitePlan, VoiceRecord, partner_access


async def registered_sites(
    session: AsyncSession, pairs: Iterable[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], set[uuid.UUID]]:
    """For each (edition, structure) planned in fieldwork, its sites."""
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = await session.execute(
        select(SitePlan.edition_id, SitePlan.structure_id, SitePlan.site_id).where(
            tuple_(SitePlan.edition_id, SitePlan.structure_id).in_(wanted)
        )
    )
    found: dict[tuple[uuid.UUID, uuid.UUID], set[uuid.UUID]] = {}
    for edition_id, structure_id, site_id in rows.all():
        found.setdefault((edition_id, structure_id), set()).add(site_id)
    return found


async def opted_in_structures(
    session: AsyncSession, client_id: str, structure_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of `structure_ids` that opted in to the partner `client_id`."""
    wanted = set(structure_ids)
    if not wanted:
        return set()
    rows = await session.scalars(
        select(partner_access.c.structure_id).where(
            partner_access.c.client_id == client_id,
            partner_access.c.opted_in,
            partner_access.c.structure_id.in_(wanted),
        )
    )
    return set(rows.all())


async def add_records(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(VoiceRecord), list(rows))
