"""Grids: the versions shipped as YAML files in `grids/data/` are stored on first need; each
version is published once (`fieldwork.grid.published.v1`) when first used by a task, and is
immutable from then on: a change ships as a new version."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.grids import repository
from services.fieldwork.grids.rules import parse_grid
from services.fieldwork.models import Grid
from shared.contracts.fieldwork import GridPublishedV1
from shared.errors import NotFound
from shared.outbox import Outbox

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data"
# Grid ids derive from (code, version), so every database gives a version the same id.
GRID_NAMESPACE = uuid.UUID("6f3c2b0e-2a51-4f0e-9d7a-5b8f0c1e7a10")


def grid_id(code: str, version: int) -> uuid.UUID:
    return uuid.uuid5(GRID_NAMESPACE, f"{code}:{version}")


@cache
def shipped_grids() -> tuple[tuple[str, GridPublishedV1], ...]:
    """Every grid file of the package, parsed and checked (a bad file stops the service)."""
    return tuple(
        (path.name, parse_grid(path.name, path.read_text(encoding="utf-8")))
        for path in sorted(DATA.glob("*.yaml"))
    )


def definition_of(grid: Grid) -> GridPublishedV1:
    return GridPublishedV1.model_validate(grid.definition)


async def sync_shipped(session: AsyncSession) -> None:
    """Store the shipped versions; an unused stored version whose file changed is updated, a
    used one is kept as it is (and the change logged: it needs a new version number)."""
    stored = {(g.code, g.version): g for g in await repository.all_grids(session)}
    missing = []
    for source, definition in shipped_grids():
        key = (definition.code, definition.version)
        dumped = definition.model_dump(mode="json")
        grid = stored.get(key)
        if grid is None:
            missing.append(
                {
                    "id": grid_id(*key),
                    "code": definition.code,
                    "version": definition.version,
                    "channel": definition.channel,
                    "definition": dumped,
                    "source": source,
                }
            )
        elif grid.definition != dumped:
            if grid.published_at is None and not await repository.used(session, grid.id):
                await repository.replace_definition(session, grid.id, dumped, source)
            else:
                log.error(
                    "grid file changed for a version already used; give it a new version",
                    extra={"grid": definition.code, "version": definition.version},
                )
    await repository.insert_missing(session, missing)


async def current_grids(session: AsyncSession) -> dict[str, Grid]:
    """The latest version of each channel's grid: the one new tasks are planned with."""
    await sync_shipped(session)
    grids: dict[str, Grid] = {}
    for grid in await repository.all_grids(session):
        if grid.channel not in grids or grid.version > grids[grid.channel].version:
            grids[grid.channel] = grid
    return grids


async def publish_once(session: AsyncSession, outbox: Outbox, grids: list[Grid]) -> None:
    """Announce the grids among these that were never announced (in the caller's transaction)."""
    for grid in await repository.mark_published(session, [g.id for g in grids], datetime.now(UTC)):
        await outbox.add(session, definition_of(grid), edition=None)


async def list_grids(session: AsyncSession) -> list[Grid]:
    await sync_shipped(session)
    return await repository.all_grids(session)


async def get_grid(session: AsyncSession, code: str, version: int) -> Grid:
    await sync_shipped(session)
    grid = await repository.find(session, code, version)
    if grid is None:
        raise NotFound(f"no grid {code!r} version {version}")
    return grid


async def get_by_id(session: AsyncSession, grid_id: uuid.UUID) -> Grid:
    return await repository.get(session, grid_id)
