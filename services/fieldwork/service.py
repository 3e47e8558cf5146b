"""Fieldwork decisions: plan sites, register auditors, and move audit tasks through their life.

Functions here take the request's (or message's) session and only flush; the caller commits.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork import grids as grid_repo
from services.fieldwork.models import (
    Auditor,
    AuditorStructureLink,
    AuditTask,
    Grid,
    SitePlan,
    TaskAnswer,
    TaskStatus,
)
from services.fieldwork.planning import Channel, plan_tasks
from services.fieldwork.schemas import AnswerIn, AuditorIn, Evidence
from shared.auth import Principal, Role
from shared.consumer import PermanentEventError
from shared.contracts.fieldwork import AnswerV1, AuditValidatedV1, answer_problems
from shared.contracts.registry import RegistrationAcceptedV1
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.outbox import Outbox

log = logging.getLogger(__name__)

ASSIGNABLE = {TaskStatus.PLANNED, TaskStatus.ASSIGNED}
SUBMITTABLE = {TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS, TaskStatus.RETURNED}
CANCELLABLE = {
    TaskStatus.PLANNED,
    TaskStatus.ASSIGNED,
    TaskStatus.IN_PROGRESS,
    TaskStatus.SUBMITTED,
    TaskStatus.RETURNED,
}


# --- planning ---------------------------------------------------------------------------------


async def plan_registration(
    session: AsyncSession, registration: RegistrationAcceptedV1, *, source_event_id: uuid.UUID
) -> int:
    """Create the audit tasks of each site of an accepted registration; returns how many.

    A site already planned for the edition is left as it is, whichever event planned it.
    """
    grids = await grid_repo.current_grids(session)
    planned = plan_tasks([s.site_id for s in registration.sites], registration.offer)
    missing = {t.channel.value for t in planned} - set(grids)
    if missing:
        raise PermanentEventError(f"no audit grid for channel(s) {', '.join(sorted(missing))}")
    by_site: dict[uuid.UUID, list[tuple[Channel, int]]] = defaultdict(list)
    for task in planned:
        by_site[task.site_id].append((task.channel, task.sequence))
    created = 0
    for site_id, slots in by_site.items():
        claimed = await session.scalar(
            pg_insert(SitePlan)
            .values(
                edition_id=registration.edition_id,
                site_id=site_id,
                structure_id=registration.structure_id,
                registration_id=registration.registration_id,
                offer=registration.offer,
                source_event_id=source_event_id,
            )
            .on_conflict_do_nothing()
            .returning(SitePlan.site_id)
        )
        if claimed is None:
            log.info(
                "site already planned",
                extra={"edition_id": str(registration.edition_id), "site_id": str(site_id)},
            )
            continue
        await session.execute(
            insert(AuditTask),
            [
                {
                    "id": uuid.uuid4(),
                    "edition_id": registration.edition_id,
                    "structure_id": registration.structure_id,
                    "site_id": site_id,
                    "channel": channel.value,
                    "sequence": sequence,
                    "grid_id": grids[channel.value].id,
                    "status": TaskStatus.PLANNED.value,
                }
                for channel, sequence in slots
            ],
        )
        created += len(slots)
    return created


# --- auditors ---------------------------------------------------------------------------------


async def create_auditor(session: AsyncSession, data: AuditorIn) -> tuple[Auditor, list[uuid.UUID]]:
    taken = await session.scalar(select(Auditor.id).where(Auditor.pseudonym == data.pseudonym))
    if taken is not None:
        raise Conflict(f"the pseudonym {data.pseudonym!r} is already used by another auditor")
    auditor = Auditor(
        id=uuid.uuid4(), pseudonym=data.pseudonym, home_commune_code=data.home_commune_code
    )
    session.add(auditor)
    await session.flush()
    linked = list(dict.fromkeys(data.linked_structure_ids))
    if linked:
        await session.execute(
            insert(AuditorStructureLink),
            [{"auditor_id": auditor.id, "structure_id": s} for s in linked],
        )
    return auditor, linked


async def get_auditor(session: AsyncSession, auditor_id: uuid.UUID) -> Auditor:
    auditor = await session.get(Auditor, auditor_id)
    if auditor is None:
        raise NotFound(f"no auditor {auditor_id}")
    return auditor


async def linked_structures(session: AsyncSession, auditor_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(AuditorStructureLink.structure_id)
        .where(AuditorStructureLink.auditor_id == auditor_id)
        .order_by(AuditorStructureLink.structure_id)
    )
    return list(rows)


# --- tasks: reading ---------------------------------------------------------------------------


async def get_task(session: AsyncSession, task_id: uuid.UUID, *, lock: bool = False) -> AuditTask:
    query = select(AuditTask).where(AuditTask.id == task_id)
    if lock:
        query = query.with_for_update()
    task = await session.scalar(query)
    if task is None:
        raise NotFound(f"no audit task {task_id}")
    return task


def ensure_may_read(task: AuditTask, principal: Principal) -> None:
    if principal.role is Role.OPERATOR:
        return
    _ensure_assigned_auditor(task, principal)


def _ensure_assigned_auditor(task: AuditTask, principal: Principal) -> None:
    if task.auditor_id is None or principal.subject != str(task.auditor_id):
        raise Forbidden("this audit task is not assigned to you")


async def task_answers(session: AsyncSession, task_id: uuid.UUID) -> list[AnswerV1]:
    rows = await session.scalars(
        select(TaskAnswer).where(TaskAnswer.task_id == task_id).order_by(TaskAnswer.position)
    )
    return [_answer_v1(row) for row in rows]


def _answer_v1(row: TaskAnswer) -> AnswerV1:
    value: bool | Decimal | None = row.value_bool
    if row.value_number is not None:
        value = row.value_number
    return AnswerV1(item_code=row.item_code, value=value, not_applicable=row.not_applicable)


def encode_cursor(task: AuditTask) -> str:
    key = [str(task.structure_id), str(task.site_id), task.channel, task.sequence]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[uuid.UUID, uuid.UUID, str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        structure_id, site_id, channel, sequence = json.loads(raw)
        if not isinstance(channel, str) or not isinstance(sequence, int):
            raise TypeError("bad cursor types")
        return uuid.UUID(structure_id), uuid.UUID(site_id), channel, sequence
    except (binascii.Error, ValueError, TypeError, AttributeError) as exc:
        raise Unprocessable("the cursor is not one this API returned") from exc


async def list_tasks(
    session: AsyncSession,
    edition_id: uuid.UUID,
    *,
    structure_id: uuid.UUID | None,
    status: TaskStatus | None,
    channel: Channel | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[AuditTask], str | None]:
    """A page of an edition's tasks in (structure, site, channel, sequence) order."""
    key = (AuditTask.structure_id, AuditTask.site_id, AuditTask.channel, AuditTask.sequence)
    query = select(AuditTask).where(AuditTask.edition_id == edition_id)
    if structure_id is not None:
        query = query.where(AuditTask.structure_id == structure_id)
    if status is not None:
        query = query.where(AuditTask.status == status.value)
    if channel is not None:
        query = query.where(AuditTask.channel == channel.value)
    if cursor is not None:
        query = query.where(tuple_(*key) > tuple_(*decode_cursor(cursor)))
    rows = list(await session.scalars(query.order_by(*key).limit(limit + 1)))
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
    return page, next_cursor


# --- tasks: transitions -----------------------------------------------------------------------


def _move(task: AuditTask, status: TaskStatus) -> datetime:
    now = datetime.now(UTC)
    task.status = status
    task.updated_at = now
    return now


def _refuse_transition(task: AuditTask, action: str) -> Conflict:
    return Conflict(f"cannot {action} an audit task that is {task.status}", task_status=task.status)


async def assign(session: AsyncSession, task_id: uuid.UUID, auditor_id: uuid.UUID) -> AuditTask:
    task = await get_task(session, task_id, lock=True)
    await get_auditor(session, auditor_id)
    if task.status not in ASSIGNABLE:
        raise _refuse_transition(task, "assign")
    linked = await session.scalar(
        select(AuditorStructureLink.auditor_id).where(
            AuditorStructureLink.auditor_id == auditor_id,
            AuditorStructureLink.structure_id == task.structure_id,
        )
    )
    if linked is not None:
        raise Conflict("this auditor is linked to the audited structure and may not audit it")
    task.auditor_id = auditor_id
    _move(task, TaskStatus.ASSIGNED)
    await session.flush()
    return task


async def start(session: AsyncSession, task_id: uuid.UUID, principal: Principal) -> AuditTask:
    task = await get_task(session, task_id, lock=True)
    _ensure_assigned_auditor(task, principal)
    if task.status != TaskStatus.ASSIGNED:
        raise _refuse_transition(task, "start")
    _move(task, TaskStatus.IN_PROGRESS)
    await session.flush()
    return task


async def submit(
    session: AsyncSession,
    task_id: uuid.UUID,
    principal: Principal,
    *,
    answers: list[AnswerIn],
    remarks: str | None,
    evidence: Evidence | None,
) -> AuditTask:
    task = await get_task(session, task_id, lock=True)
    _ensure_assigned_auditor(task, principal)
    if task.status not in SUBMITTABLE:
        raise _refuse_transition(task, "submit")
    grid = await session.get_one(Grid, task.grid_id)
    contract = [
        AnswerV1(item_code=a.item_code, value=a.value, not_applicable=a.not_applicable)
        for a in answers
    ]
    problems = answer_problems(await grid_repo.snapshot(session, grid), contract)
    if problems:
        raise Unprocessable(
            f"the answers do not fit grid {grid.code} v{grid.version}: {len(problems)} problem(s)",
            problems=problems,
        )
    await session.execute(delete(TaskAnswer).where(TaskAnswer.task_id == task.id))
    await session.execute(
        insert(TaskAnswer),
        [
            {
                "task_id": task.id,
                "position": position,
                "item_code": a.item_code,
                "value_bool": a.value if isinstance(a.value, bool) else None,
                "value_number": None if isinstance(a.value, bool) else a.value,
                "not_applicable": a.not_applicable,
            }
            for position, a in enumerate(answers, start=1)
        ],
    )
    task.remarks = remarks
    task.evidence = evidence.model_dump(mode="json", exclude_none=True) if evidence else None
    task.submitted_at = _move(task, TaskStatus.SUBMITTED)
    await session.flush()
    return task


async def return_for_correction(
    session: AsyncSession, task_id: uuid.UUID, reason: str
) -> AuditTask:
    task = await get_task(session, task_id, lock=True)
    if task.status != TaskStatus.SUBMITTED:
        raise _refuse_transition(task, "return")
    _move(task, TaskStatus.RETURNED)
    task.return_reason = reason
    await session.flush()
    return task


async def validate(session: AsyncSession, task_id: uuid.UUID, outbox: Outbox) -> AuditTask:
    """Accept a submission and announce it; the event names no auditor (they stay anonymous)."""
    task = await get_task(session, task_id, lock=True)
    if task.status != TaskStatus.SUBMITTED:
        raise _refuse_transition(task, "validate")
    grid = await session.get_one(Grid, task.grid_id)
    validated_at = task.validated_at = _move(task, TaskStatus.VALIDATED)
    await outbox.add(
        session,
        AuditValidatedV1(
            audit_id=task.id,
            edition_id=task.edition_id,
            structure_id=task.structure_id,
            site_id=task.site_id,
            channel=task.channel,
            grid=await grid_repo.snapshot(session, grid),
            answers=await task_answers(session, task.id),
            validated_at=validated_at,
        ),
        edition=task.edition_id,
    )
    await session.flush()
    return task


async def cancel(session: AsyncSession, task_id: uuid.UUID) -> AuditTask:
    task = await get_task(session, task_id, lock=True)
    if task.status not in CANCELLABLE:
        raise _refuse_transition(task, "cancel")
    _move(task, TaskStatus.CANCELLED)
    await session.flush()
    return task
