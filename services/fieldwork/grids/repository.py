"""Queries of the grids domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.models import AuditTask, Grid


async def insert_missing(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add grid versions not stored yet; a stored version is never overwritten here."""
    if rows:
        await session.execute(insert(Grid).values(list(rows)).on_conflict_do_nothing())


async def all_grids(session: AsyncSession) -> list[Grid]:
    return list(await session.scalars(select(Grid).order_by(Grid.code, Grid.version)))


async def find(session: AsyncSession, code: str, version: int) -> Grid | None:
    found: Grid | None = await session.scalar(
        select(Grid).where(Grid.code == code, Grid.version == version)
    )
    return found


async def get(session: AsyncSession, grid_id: uuid.UUID) -> Grid:
    return await session.get_one(Grid, grid_id)


async def used(session: AsyncSession, grid_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(AuditTask.grid_id == grid_id))))


async def replace_definition(
    session: AsyncSession, grid_id: uuid.UUID, definition: dict[str, Any], source: str
) -> None:
    await session.execute(
        update(Grid).where(Grid.id == grid_id).values(definition=definition, source=source)
    )


async def mark_published(
    session: AsyncSession, grid_ids: Sequence[uuid.UUID], at: datetime
) -> list[Grid]:
    """Mark as published the given grids that were not yet; returns those (each once ever)."""
    if not grid_ids:
        return []
    rows = await session.scalars(
        update(Grid)
        .where(Grid.id.in_(grid_ids), Grid.published_at.is_(None))
        .values(published_at=at)
        .returning(Grid)
    )
    return list(rows)
