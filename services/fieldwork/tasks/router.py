"""HTTP routes of the tasks domain: pages, an auditor's own tasks, history and moves."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.fieldwork.access import Auditor, Operator
from services.fieldwork.channels import Channel
from services.fieldwork.grids import service as grid_service
from services.fieldwork.scenarios import service as scenario_service
from services.fieldwork.statuses import TaskStatus
from services.fieldwork.tasks import service
from services.fieldwork.tasks.schemas import (
    AuditorTaskOut,
    AuditorTaskPage,
    CancelIn,
    HistoryOut,
    ReasonIn,
    ScenarioOut,
    TaskOut,
    TaskPage,
    TransitionOut,
)
from shared.app import SessionDep

router = APIRouter(tags=["tasks"])
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=500)]


@router.get("/editions/{edition_id}/tasks", response_model=TaskPage)
async def list_tasks(
    edition_id: uuid.UUID,
    _: Operator,
    session: SessionDep,
    structure_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    status: TaskStatus | None = None,
    channel: Channel | None = None,
    auditor_id: uuid.UUID | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> TaskPage:
    filters = {
        "structure_id": structure_id,
        "site_id": site_id,
        "status": status.value if status else None,
        "channel": channel.value if channel else None,
        "auditor_id": auditor_id,
    }
    page, next_cursor = await service.edition_page(
        session, edition_id, filters=filters, limit=limit, cursor=cursor
    )
    return TaskPage(
        items=[TaskOut.model_validate(t, from_attributes=True) for t in page],
        next_cursor=next_cursor,
    )


@router.get("/me/tasks", response_model=AuditorTaskPage)
async def my_tasks(
    principal: Auditor,
    session: SessionDep,
    status: TaskStatus | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> AuditorTaskPage:
    filters = {"status": status.value if status else None}
    page, next_cursor = await service.auditor_page(
        session, principal, filters=filters, limit=limit, cursor=cursor
    )
    scenarios = scenario_service.by_code()
    grids = {g.id: g for g in await grid_service.list_grids(session)}
    items = []
    for task, plan in page:
        scenario = scenarios.get(task.scenario_code or "")
        items.append(
            AuditorTaskOut(
                id=task.id,
                channel=task.channel,
                planned_on=task.planned_on,
                status=TaskStatus(task.status),
                scenario=ScenarioOut(
                    code=scenario.code,
                    label_fr=scenario.label_fr,
                    label_en=scenario.label_en,
                    request=scenario.request,
                )
                if scenario
                else None,
                site_id=task.site_id,
                contact=plan.contacts.get(task.channel),
                grid_code=grids[task.grid_id].code,
                grid_version=grids[task.grid_id].version,
                return_reason=task.return_reason,
            )
        )
    return AuditorTaskPage(items=items, next_cursor=next_cursor)


@router.get("/tasks/{task_id}/history", response_model=HistoryOut)
async def task_history(task_id: uuid.UUID, _: Operator, session: SessionDep) -> HistoryOut:
    task, moves = await service.history(session, task_id)
    return HistoryOut(
        task_id=task.id,
        planned_at=task.created_at,
        transitions=[TransitionOut.model_validate(m, from_attributes=True) for m in moves],
    )


@router.post("/tasks/{task_id}/start", response_model=TaskOut)
async def start_task(task_id: uuid.UUID, principal: Auditor, session: SessionDep) -> TaskOut:
    task = await service.start(session, task_id, principal)
    return TaskOut.model_validate(task, from_attributes=True)


@router.post("/tasks/{task_id}/return", response_model=TaskOut)
async def return_task(
    task_id: uuid.UUID, body: ReasonIn, principal: Operator, session: SessionDep
) -> TaskOut:
    task = await service.return_for_correction(session, task_id, principal, body.reason)
    return TaskOut.model_validate(task, from_attributes=True)


@router.post("/tasks/{task_id}/cancel", response_model=TaskOut)
async def cancel_task(
    task_id: uuid.UUID, principal: Operator, session: SessionDep, body: CancelIn | None = None
) -> TaskOut:
    task = await service.cancel(session, task_id, principal, body.reason if body else None)
    return TaskOut.model_validate(task, from_attributes=True)
