"""Queries of the tasks domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.models import AuditTask, SitePlan, TaskAnswer, TaskTransition


async def get(session: AsyncSession, task_id: uuid.UUID, *, lock: bool = False) -> AuditTask | None:
    query = select(AuditTask).where(AuditTask.id == task_id)
    if lock:
        query = query.with_for_update()
    found: AuditTask | None = await session.scalar(query)
    return found


async def get_many(
    session: AsyncSession, task_ids: Sequence[uuid.UUID], *, lock: bool = False
) -> dict[uuid.UUID, AuditTask]:
    """The tasks found among `task_ids` (locked in id order, so two bulks never deadlock)."""
    query = select(AuditTask).where(AuditTask.id.in_(task_ids)).order_by(AuditTask.id)
    if lock:
        query = query.with_for_update()
    return {t.id: t for t in await session.scalars(query)}


async def site_plan(session: AsyncSession, task: AuditTask) -> SitePlan:
    return await session.get_one(SitePlan, (task.edition_id, task.site_id))


async def add_transitions(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(TaskTransition), list(rows))


async def transitions(session: AsyncSession, task_id: uuid.UUID) -> list[TaskTransition]:
    return list(
        await session.scalars(
            select(TaskTransition)
            .where(TaskTransition.task_id == task_id)
            .order_by(TaskTransition.id)
        )
    )


async def answers(session: AsyncSession, task_id: uuid.UUID) -> list[TaskAnswer]:
    return list(
        await session.scalars(
            select(TaskAnswer).where(TaskAnswer.task_id == task_id).order_by(TaskAnswer.position)
        )
    )


async def replace_answers(
    session: AsyncSession, task_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> None:
    await session.execute(delete(TaskAnswer).where(TaskAnswer.task_id == task_id))
    if rows:
        await session.execute(insert(TaskAnswer), [{"task_id": task_id, **r} for r in rows])


async def answers_of(
    session: AsyncSession, task_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[TaskAnswer]]:
    rows = await session.scalars(
        select(TaskAnswer)
        .where(TaskAnswer.task_id.in_(task_ids))
        .order_by(TaskAnswer.task_id, TaskAnswer.position)
    )
    found: dict[uuid.UUID, list[TaskAnswer]] = {}
    for row in rows:
        found.setdefault(row.task_id, []).append(row)
    return found


async def replace_answers_of(
    session: AsyncSession, rows_by_task: dict[uuid.UUID, list[dict[str, Any]]]
) -> None:
    """Several tasks' answers replaced: one delete, one multi-row insert."""
    await session.execute(delete(TaskAnswer).where(TaskAnswer.task_id.in_(list(rows_by_task))))
    rows = [{"task_id": task, **r} for task, answers in rows_by_task.items() for r in answers]
    if rows:
        await session.execute(insert(TaskAnswer), rows)


async def page(
    session: AsyncSession,
    *,
    edition_id: uuid.UUID | None,
    auditor_id: uuid.UUID | None,
    filters: dict[str, Any],
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[AuditTask]:
    """Tasks in (planned day, structure, site, channel, sequence) order for an auditor, or in
    (structure, site, channel, sequence) order for an edition."""
    if auditor_id is not None:
        key: tuple[Any, ...] = (AuditTask.planned_on, AuditTask.id)
        query = select(AuditTask).where(AuditTask.auditor_id == auditor_id)
    else:
        key = (AuditTask.structure_id, AuditTask.site_id, AuditTask.channel, AuditTask.sequence)
        query = select(AuditTask).where(AuditTask.edition_id == edition_id)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(AuditTask, name) == value)
    if after is not None:
        query = query.where(tuple_(*key) > tuple_(*after))
    return list(await session.scalars(query.order_by(*key).limit(limit)))


async def site_plans_of(
    session: AsyncSession, tasks: Sequence[AuditTask]
) -> dict[tuple[uuid.UUID, uuid.UUID], SitePlan]:
    pairs = {(t.edition_id, t.site_id) for t in tasks}
    if not pairs:
        return {}
    rows = await session.scalars(
        select(SitePlan).where(tuple_(SitePlan.edition_id, SitePlan.site_id).in_(pairs))
    )
    return {(p.edition_id, p.site_id): p for p in rows}
