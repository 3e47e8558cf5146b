"""The life of audit tasks: reading them, moving them (every move recorded with who, when and
why), and cursor pages. Functions take the caller's session and only flush."""

from __future__ import annotations

import binascii
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.models import AuditTask as AuditTask
from services.fieldwork.models import SitePlan, TaskTransition
from services.fieldwork.statuses import TaskStatus
from services.fieldwork.tasks import repository
from services.fieldwork.tasks.rules import IllegalTransition, next_status
from shared.auth import Principal, Role
from shared.cursors import pack, unpack
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable

SYSTEM = Principal(subject="fieldwork", role=Role.OPERATOR)


async def get_task(session: AsyncSession, task_id: uuid.UUID, *, lock: bool = False) -> AuditTask:
    task = await repository.get(session, task_id, lock=lock)
    if task is None:
        raise NotFound(f"no audit task {task_id}")
    return task


def ensure_assigned_auditor(task: AuditTask, principal: Principal) -> None:
    if task.auditor_id is None or principal.subject != str(task.auditor_id):
        # Another auditor's task does not exist for this caller.
        raise NotFound(f"no audit task {task.id}")


def ensure_may_read(task: AuditTask, principal: Principal) -> None:
    if principal.role is not Role.OPERATOR:
        ensure_assigned_auditor(task, principal)


def can(task: AuditTask, action: str) -> bool:
    try:
        next_status(action, TaskStatus(task.status))
    except IllegalTransition:
        return False
    return True


def ensure_can(task: AuditTask, action: str) -> None:
    """409 when the action is illegal from the task's status (checked before other work)."""
    try:
        next_status(action, TaskStatus(task.status))
    except IllegalTransition as exc:
        raise Conflict(str(exc), task_status=task.status) from exc


def transition_row(
    task: AuditTask,
    action: str,
    actor: Principal,
    *,
    reason: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Move the task (409 when the action is illegal from its status) and return the record of
    the move, for the caller to store (one by one, or in bulk)."""
    current = TaskStatus(task.status)
    try:
        target = next_status(action, current)
    except IllegalTransition as exc:
        raise Conflict(str(exc), task_status=current.value) from exc
    now = at or datetime.now(UTC)
    task.status = target.value
    task.updated_at = now
    return {
        "task_id": task.id,
        "action": action,
        "from_status": current.value,
        "to_status": target.value,
        "actor_role": actor.role.value,
        "actor": actor.subject,
        "reason": reason,
        "at": now,
    }


async def move(
    session: AsyncSession,
    task: AuditTask,
    action: str,
    actor: Principal,
    *,
    reason: str | None = None,
) -> datetime:
    row = transition_row(task, action, actor, reason=reason)
    await repository.add_transitions(session, [row])
    await session.flush()
    at: datetime = row["at"]
    return at


async def history(
    session: AsyncSession, task_id: uuid.UUID
) -> tuple[AuditTask, list[TaskTransition]]:
    task = await get_task(session, task_id)
    return task, await repository.transitions(session, task_id)


async def site_plan(session: AsyncSession, task: AuditTask) -> SitePlan:
    return await repository.site_plan(session, task)


async def start(session: AsyncSession, task_id: uuid.UUID, principal: Principal) -> AuditTask:
    task = await get_task(session, task_id, lock=True)
    ensure_assigned_auditor(task, principal)
    await move(session, task, "start", principal)
    return task


async def return_for_correction(
    session: AsyncSession, task_id: uuid.UUID, principal: Principal, reason: str
) -> AuditTask:
    task = await get_task(session, task_id, lock=True)
    await move(session, task, "return", principal, reason=reason)
    task.return_reason = reason
    await session.flush()
    return task


async def cancel(
    session: AsyncSession, task_id: uuid.UUID, principal: Principal, reason: str | None
) -> AuditTask:
    task = await get_task(session, task_id, lock=True)
    await move(session, task, "cancel", principal, reason=reason)
    return task


# --- pages ------------------------------------------------------------------------------------


def encode_cursor(values: Sequence[Any]) -> str:
    return pack(
        [
            v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, uuid.UUID) else v
            for v in values
        ]
    )


def _decode(cursor: str, kinds: Sequence[type]) -> tuple[Any, ...]:
    try:
        raw = unpack(cursor)
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("bad cursor shape")
        out: list[Any] = []
        for kind, value in zip(kinds, raw, strict=True):
            if kind is uuid.UUID:
                out.append(uuid.UUID(value))
            elif kind is date:
                out.append(date.fromisoformat(value))
            elif not isinstance(value, kind):
                raise TypeError("bad cursor value")
            else:
                out.append(value)
        return tuple(out)
    except (binascii.Error, ValueError, TypeError, AttributeError) as exc:
        raise Unprocessable("the cursor is not one this API returned") from exc


async def edition_page(
    session: AsyncSession,
    edition_id: uuid.UUID,
    *,
    filters: dict[str, Any],
    limit: int,
    cursor: str | None,
) -> tuple[list[AuditTask], str | None]:
    after = _decode(cursor, (uuid.UUID, uuid.UUID, str, int)) if cursor else None
    rows = await repository.page(
        session, edition_id=edition_id, auditor_id=None, filters=filters, after=after,
        limit=limit + 1,
    )  # fmt: skip
    page = rows[:limit]
    last = page[-1] if page else None
    next_cursor = (
        encode_cursor([last.structure_id, last.site_id, last.channel, last.sequence])
        if last is not None and len(rows) > limit
        else None
    )
    return page, next_cursor


async def auditor_page(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: dict[str, Any],
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[AuditTask, SitePlan]], str | None]:
    """An auditor's own tasks, by planned day, each with its site plan (contact points)."""
    try:
        auditor_id = uuid.UUID(principal.subject)
    except ValueError as exc:
        raise Forbidden("this token's subject is not an auditor id") from exc
    after = _decode(cursor, (date, uuid.UUID)) if cursor else None
    rows = await repository.page(
        session, edition_id=None, auditor_id=auditor_id, filters=filters, after=after,
        limit=limit + 1,
    )  # fmt: skip
    page = rows[:limit]
    plans = await repository.site_plans_of(session, page)
    last = page[-1] if page else None
    next_cursor = (
        encode_cursor([last.planned_on, last.id])
        if last is not None and len(rows) > limit
        else None
    )
    return [(t, plans[(t.edition_id, t.site_id)]) for t in page], next_cursor
