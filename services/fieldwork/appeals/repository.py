"""Queries of the appeals domain."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.models import Appeal, AuditTask
from services.fieldwork.statuses import TaskStatus


async def add(session: AsyncSession, appeal: Appeal) -> None:
    session.add(appeal)
    await session.flush()


async def get(session: AsyncSession, appeal_id: uuid.UUID, *, lock: bool = False) -> Appeal | None:
    query = select(Appeal).where(Appeal.id == appeal_id)
    if lock:
        query = query.with_for_update()
    found: Appeal | None = await session.scalar(query)
    return found


async def of_structure(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID
) -> list[Appeal]:
    return list(
        await session.scalars(
            select(Appeal)
            .where(Appeal.edition_id == edition_id, Appeal.structure_id == structure_id)
            .order_by(Appeal.created_at, Appeal.id)
        )
    )


async def validated_tasks(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID
) -> list[AuditTask]:
    return list(
        await session.scalars(
            select(AuditTask)
            .where(
                AuditTask.edition_id == edition_id,
                AuditTask.structure_id == structure_id,
                AuditTask.status == TaskStatus.VALIDATED.value,
            )
            .order_by(AuditTask.site_id, AuditTask.channel, AuditTask.sequence)
        )
    )
