"""Queries of editions: the edition, its calendar windows, quotas and status history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Edition, EditionQuota, EditionTransition, EditionWindow
from services.registry.queries import children, replace_children
from shared.pagination import after


async def get_edition(
    session: AsyncSession, edition_id: uuid.UUID, *, for_update: bool = False
) -> Edition | None:
    query = select(Edition).where(Edition.id == edition_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def edition_of_year(session: AsyncSession, year: int) -> Edition | None:
    return await session.scalar(select(Edition).where(Edition.year == year))


async def list_editions(
    session: AsyncSession,
    *,
    year: int | None,
    status: str | None,
    key: Sequence[Any] | None,
    limit: int,
) -> Sequence[Edition]:
    """Newest year first (sort key: minus the year, then the id)."""
    columns = (-Edition.year, Edition.id)
    query = select(Edition).where(after(columns, key)).order_by(*columns).limit(limit + 1)
    if year is not None:
        query = query.where(Edition.year == year)
    if status is not None:
        query = query.where(Edition.status == status)
    return (await session.scalars(query)).all()


async def windows(
    session: AsyncSession, edition_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[EditionWindow]]:
    return await children(
        session, EditionWindow, EditionWindow.edition_id, edition_ids, EditionWindow.position
    )


async def quotas(
    session: AsyncSession, edition_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[EditionQuota]]:
    return await children(
        session, EditionQuota, EditionQuota.edition_id, edition_ids, EditionQuota.channel
    )


async def replace_windows(
    session: AsyncSession, edition_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> None:
    await replace_children(session, EditionWindow, EditionWindow.edition_id, edition_id, rows)


async def replace_quotas(
    session: AsyncSession, edition_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> None:
    await replace_children(session, EditionQuota, EditionQuota.edition_id, edition_id, rows)


async def transitions(
    session: AsyncSession, edition_id: uuid.UUID, key: Sequence[Any] | None, limit: int
) -> Sequence[EditionTransition]:
    columns = (EditionTransition.id,)
    return (
        await session.scalars(
            select(EditionTransition)
            .where(EditionTransition.edition_id == edition_id, after(columns, key))
            .order_by(*columns)
            .limit(limit + 1)
        )
    ).all()
