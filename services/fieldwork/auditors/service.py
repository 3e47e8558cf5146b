"""Auditors: profiles, and assignment of tasks (automatic for an edition, or by hand)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.auditors import repository
from services.fieldwork.auditors.rules import (
    AuditorProfile,
    OpenTask,
    Unassigned,
    Workload,
    assign_automatically,
    manual_assignment_problem,
    pseudonym_key,
)
from services.fieldwork.auditors.schemas import AuditorIn, AuditorPatch
from services.fieldwork.models import Auditor as Auditor
from services.fieldwork.models import AuditTask
from services.fieldwork.statuses import TaskStatus
from services.fieldwork.tasks import service as task_service
from shared.auth import Principal
from shared.errors import Conflict, NotFound


async def create(session: AsyncSession, data: AuditorIn) -> tuple[Auditor, list[uuid.UUID]]:
    key = pseudonym_key(data.pseudonym)
    if await repository.key_taken(session, key):
        raise Conflict(
            f"the pseudonym {data.pseudonym!r} is already used by another auditor "
            "(pseudonyms are compared without case or accents)"
        )
    auditor = Auditor(
        id=uuid.uuid4(),
        pseudonym=data.pseudonym,
        pseudonym_key=key,
        home_departement_code=data.home_departement_code,
        channels=sorted({c.value for c in data.channels}),
        weekly_capacity=data.weekly_capacity,
        active=data.active,
    )
    await repository.add(session, auditor)
    linked = list(dict.fromkeys(data.linked_structure_ids))
    await repository.set_links(session, auditor.id, linked)
    return auditor, linked


async def get(session: AsyncSession, auditor_id: uuid.UUID) -> tuple[Auditor, list[uuid.UUID]]:
    auditor = await repository.get(session, auditor_id)
    if auditor is None:
        raise NotFound(f"no auditor {auditor_id}")
    return auditor, (await repository.links(session, [auditor_id])).get(auditor_id, [])


async def update(
    session: AsyncSession, auditor_id: uuid.UUID, patch: AuditorPatch
) -> tuple[Auditor, list[uuid.UUID]]:
    auditor, linked = await get(session, auditor_id)
    values: dict[str, Any] = patch.model_dump(exclude_unset=True, exclude_none=True)
    if "linked_structure_ids" in values:
        linked = list(dict.fromkeys(patch.linked_structure_ids or []))
        await repository.set_links(session, auditor_id, linked)
        del values["linked_structure_ids"]
    if "channels" in values:
        values["channels"] = sorted({str(c) for c in values["channels"]})
    for name, value in values.items():
        setattr(auditor, name, value)
    await session.flush()
    return auditor, linked


async def list_all(session: AsyncSession) -> list[tuple[Auditor, list[uuid.UUID]]]:
    auditors = await repository.all_auditors(session)
    links = await repository.links(session)
    return [(a, links.get(a.id, [])) for a in auditors]


def _profile(auditor: Auditor, linked: list[uuid.UUID]) -> AuditorProfile:
    return AuditorProfile(
        id=auditor.id,
        departement_code=auditor.home_departement_code,
        channels=frozenset(auditor.channels),
        weekly_capacity=auditor.weekly_capacity,
        linked_structures=frozenset(linked),
        active=auditor.active,
    )


async def _workload(session: AsyncSession) -> Workload:
    workload = Workload()
    for auditor_id, site_id, channel, day in await repository.workload_rows(session):
        workload.add(auditor_id, site_id, channel, day)
    return workload


def _open(task: AuditTask, departement: str | None) -> OpenTask:
    return OpenTask(
        id=task.id,
        structure_id=task.structure_id,
        site_id=task.site_id,
        channel=task.channel,
        planned_on=task.planned_on,
        departement_code=departement,
    )


async def auto_assign(
    session: AsyncSession, edition_id: uuid.UUID, principal: Principal
) -> tuple[int, list[Unassigned]]:
    """Assign every planned task of the edition that can be; list the others with a reason.
    Set-based: one UPDATE for the tasks, one COPY for their history, whatever their number."""
    open_tasks = [
        OpenTask(id=r[0], structure_id=r[1], site_id=r[2], channel=r[3], planned_on=r[4],
                 departement_code=r[5])
        for r in await repository.open_tasks(session, edition_id)
    ]  # fmt: skip
    profiles = [_profile(a, linked) for a, linked in await list_all(session)]
    assigned, refused = assign_automatically(open_tasks, profiles, await _workload(session))
    now = datetime.now(UTC)
    await repository.assign_many(session, assigned, now)
    await repository.copy_transitions(
        session,
        [
            (task_id, "assign", TaskStatus.PLANNED.value, TaskStatus.ASSIGNED.value,
             principal.role.value, principal.subject, "automatic", now)
            for task_id in assigned
        ],
    )  # fmt: skip
    return len(assigned), refused


async def assign(
    session: AsyncSession, task_id: uuid.UUID, auditor_id: uuid.UUID, principal: Principal
) -> AuditTask:
    """Assign or re-assign a task by hand, under the same constraints as the automatic way."""
    task = await task_service.get_task(session, task_id, lock=True)
    auditor, linked = await get(session, auditor_id)
    departement = await repository.site_departement(session, task.edition_id, task.site_id)
    workload = await _workload(session)
    if task.auditor_id == auditor_id:
        raise Conflict("the task is already assigned to this auditor")
    problem = manual_assignment_problem(
        _open(task, departement), _profile(auditor, linked), workload
    )
    if problem is not None:
        raise Conflict(f"this auditor may not take the task: {problem}")
    reason = "re-assigned" if task.auditor_id is not None else "assigned by hand"
    await task_service.move(session, task, "assign", principal, reason=reason)
    task.auditor_id = auditor_id
    await session.flush()
    return task
