"""Audit grids: read the versioned grids of each channel and snapshot them for events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.models import Grid, GridItem
from shared.contracts.fieldwork import GridItemV1, GridV1


def item_v1(item: GridItem) -> GridItemV1:
    return GridItemV1(
        code=item.code,
        label=item.label,
        criterion=item.criterion,
        journey_step=item.journey_step,
        answer_type=item.answer_type,  # checked by the table
        weight=item.weight,
        scale_max=item.scale_max,
        target=item.target,
        not_applicable_allowed=item.not_applicable_allowed,
    )


async def grid_items(session: AsyncSession, grid_id: uuid.UUID) -> list[GridItem]:
    rows = await session.scalars(
        select(GridItem).where(GridItem.grid_id == grid_id).order_by(GridItem.position)
    )
    return list(rows)


async def snapshot(session: AsyncSession, grid: Grid) -> GridV1:
    """The grid as the audit contract carries it (what scoring will score against)."""
    items = await grid_items(session, grid.id)
    return GridV1(
        code=grid.code,
        version=grid.version,
        channel=grid.channel,
        items=[item_v1(i) for i in items],
    )


async def list_grids(session: AsyncSession) -> Sequence[tuple[Grid, int]]:
    """Every grid version with its number of items, by code then version."""
    counts = select(GridItem.grid_id, func.count().label("n")).group_by(GridItem.grid_id).subquery()
    rows = await session.execute(
        select(Grid, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.grid_id == Grid.id)
        .order_by(Grid.code, Grid.version)
    )
    return [(grid, int(n)) for grid, n in rows.all()]


async def find_grid(session: AsyncSession, code: str, version: int) -> Grid | None:
    found: Grid | None = await session.scalar(
        select(Grid).where(Grid.code == code, Grid.version == version)
    )
    return found


async def current_grids(session: AsyncSession) -> dict[str, Grid]:
    """The latest version of each channel's grid: the one new tasks are planned with."""
    rows = await session.scalars(select(Grid).order_by(Grid.channel, Grid.version))
    return {grid.channel: grid for grid in rows}  # the highest version comes last
