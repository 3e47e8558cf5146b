"""Queries of the auditors domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.models import Auditor, AuditorStructureLink, AuditTask, SitePlan
from services.fieldwork.statuses import TaskStatus


async def key_taken(session: AsyncSession, key: str) -> bool:
    return await session.scalar(select(Auditor.id).where(Auditor.pseudonym_key == key)) is not None


async def add(session: AsyncSession, auditor: Auditor) -> None:
    session.add(auditor)
    await session.flush()


async def get(session: AsyncSession, auditor_id: uuid.UUID) -> Auditor | None:
    return await session.get(Auditor, auditor_id)


async def all_auditors(session: AsyncSession) -> list[Auditor]:
    return list(await session.scalars(select(Auditor).order_by(Auditor.pseudonym_key)))


async def set_links(
    session: AsyncSession, auditor_id: uuid.UUID, structure_ids: Sequence[uuid.UUID]
) -> None:
    await session.execute(
        delete(AuditorStructureLink).where(AuditorStructureLink.auditor_id == auditor_id)
    )
    if structure_ids:
        await session.execute(
            insert(AuditorStructureLink),
            [{"auditor_id": auditor_id, "structure_id": s} for s in structure_ids],
        )


async def links(
    session: AsyncSession, auditor_ids: Sequence[uuid.UUID] | None = None
) -> dict[uuid.UUID, list[uuid.UUID]]:
    query = select(AuditorStructureLink.auditor_id, AuditorStructureLink.structure_id)
    if auditor_ids is not None:
        query = query.where(AuditorStructureLink.auditor_id.in_(auditor_ids))
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    for auditor_id, structure_id in (
        await session.execute(query.order_by(AuditorStructureLink.structure_id))
    ).all():
        found.setdefault(auditor_id, []).append(structure_id)
    return found


async def open_tasks(
    session: AsyncSession, edition_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, str, date, str | None]]:
    """(task, structure, site, channel, day, département) of the edition's planned tasks,
    locked until the assignment commits."""
    rows = await session.execute(
        select(
            AuditTask.id,
            AuditTask.structure_id,
            AuditTask.site_id,
            AuditTask.channel,
            AuditTask.planned_on,
            SitePlan.departement_code,
        )
        .join(
            SitePlan,
            (SitePlan.edition_id == AuditTask.edition_id) & (SitePlan.site_id == AuditTask.site_id),
        )
        .where(AuditTask.edition_id == edition_id, AuditTask.status == TaskStatus.PLANNED.value)
        .with_for_update(of=AuditTask)
    )
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows.all()]


async def assign_many(
    session: AsyncSession, assignments: dict[uuid.UUID, uuid.UUID], at: datetime
) -> None:
    """Give planned tasks their auditor in one statement (task id -> auditor id)."""
    if not assignments:
        return
    await session.execute(
        text(
            "UPDATE audit_tasks AS t SET auditor_id = v.auditor_id, status = :status,"
            " updated_at = :at"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:auditors AS uuid[])) AS v(id, auditor_id)"
            " WHERE t.id = v.id AND t.status = :planned"
        ),
        {
            "ids": list(assignments),
            "auditors": list(assignments.values()),
            "status": TaskStatus.ASSIGNED.value,
            "planned": TaskStatus.PLANNED.value,
            "at": at,
        },
    )


async def copy_transitions(session: AsyncSession, rows: Sequence[tuple[Any, ...]]) -> None:
    """Record many transitions with COPY (`TRANSITION_COLUMNS` order)."""
    if not rows:
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table("task_transitions", records=rows, columns=TRANSITION_COLUMNS)


TRANSITION_COLUMNS = ("task_id", "action", "from_status", "to_status", "actor_role", "actor",
                      "reason", "at")  # fmt: skip


async def workload_rows(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID, str, date]]:
    """(auditor, site, channel, day) of every task an auditor holds or held (not cancelled)."""
    rows = await session.execute(
        select(
            AuditTask.auditor_id, AuditTask.site_id, AuditTask.channel, AuditTask.planned_on
        ).where(AuditTask.auditor_id.is_not(None), AuditTask.status != TaskStatus.CANCELLED.value)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows.all() if r[0] is not None]


async def site_departement(
    session: AsyncSession, edition_id: uuid.UUID, site_id: uuid.UUID
) -> str | None:
    found: str | None = await session.scalar(
        select(SitePlan.departement_code).where(
            SitePlan.edition_id == edition_id, SitePlan.site_id == site_id
        )
    )
    return found
