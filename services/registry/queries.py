"""Query helpers the registry's repositories share: children grouped by parent, a parent's
children replaced, structures filtered."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.registry.models import Base, Certification, Structure

Row = TypeVar("Row", bound=Base)
Q = TypeVar("Q", bound=Select[Any])


async def children(
    session: AsyncSession,
    model: type[Row],
    parent: InstrumentedAttribute[uuid.UUID],
    parent_ids: Sequence[uuid.UUID],
    *order: Any,
) -> dict[uuid.UUID, list[Row]]:
    """The rows of `model` whose `parent` is one of `parent_ids`, grouped (every id present)."""
    rows: Iterable[Row] = await session.scalars(
        select(model).where(parent.in_(parent_ids)).order_by(parent, *order)
    )
    found: dict[uuid.UUID, list[Row]] = {p: [] for p in parent_ids}
    for row in rows:
        found[getattr(row, parent.key)].append(row)
    return found


async def replace_children(
    session: AsyncSession,
    model: type[Base],
    parent: InstrumentedAttribute[uuid.UUID],
    parent_id: uuid.UUID,
    rows: Sequence[dict[str, Any]],
) -> None:
    """Replace every row of `model` under `parent_id` with `rows`, in one transaction."""
    await session.execute(delete(model).where(parent == parent_id))
    if rows:
        await session.execute(insert(model), [{parent.key: parent_id, **r} for r in rows])


def filter_structures(
    query: Q,
    *,
    departement: str | None,
    region: str | None,
    structure_type: str | None,
    certification: str | None,
) -> Q:
    """`query` (which selects or joins `structures`) narrowed by the usual list filters."""
    if departement is not None:
        query = query.where(Structure.departement_code == departement)
    if region is not None:
        query = query.where(Structure.region_code == region)
    if structure_type is not None:
        query = query.where(Structure.type == structure_type)
    if certification is not None:
        query = query.where(
            select(Certification.structure_id)
            .where(Certification.structure_id == Structure.id, Certification.name == certification)
            .exists()
        )
    return query
