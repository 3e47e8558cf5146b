"""Queries of perceived quality."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import Voice, VoiceSums


async def insert_new_voices(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> set[uuid.UUID]:
    """Insert voices; returns the ids that were new (a voice counts once, whatever happens)."""
    if not rows:
        return set()
    result = await session.scalars(
        insert(Voice).values(list(rows)).on_conflict_do_nothing().returning(Voice.voice_id)
    )
    return set(result.all())


async def add_to_sums(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = insert(VoiceSums)
    x = stmt.excluded
    columns = (
        "responses", "satisfaction_total", "agent_responses", "agent_total", "consultations",
        "participants", "population_reached",
    )  # fmt: skip
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[VoiceSums.edition_id, VoiceSums.structure_id, VoiceSums.site_id],
            set_={c: getattr(VoiceSums, c) + getattr(x, c) for c in columns},
        ),
        list(rows),
    )


async def sums_of(
    session: AsyncSession, edition_id: uuid.UUID, structure_ids: Sequence[uuid.UUID]
) -> Sequence[Any]:
    v = VoiceSums
    return (
        await session.execute(
            select(v).where(v.edition_id == edition_id, v.structure_id.in_(structure_ids))
        )
    ).all()


async def sums_page(
    session: AsyncSession, edition_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> Sequence[Any]:
    v = VoiceSums
    query = (
        select(
            v.structure_id,
            func.sum(v.responses).label("responses"),
            func.sum(v.satisfaction_total).label("satisfaction_total"),
            func.sum(v.agent_responses).label("agent_responses"),
            func.sum(v.agent_total).label("agent_total"),
            func.sum(v.consultations).label("consultations"),
            func.sum(v.participants).label("participants"),
            func.sum(v.population_reached).label("population_reached"),
        )
        .where(v.edition_id == edition_id)
        .group_by(v.structure_id)
        .order_by(v.structure_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(v.structure_id > after)
    return (await session.execute(query)).all()
