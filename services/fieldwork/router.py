"""HTTP routes of the fieldwork service: grids, auditors and the life of audit tasks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork import grids as grid_repo
from services.fieldwork import service
from services.fieldwork.models import AuditTask, Grid, TaskStatus
from services.fieldwork.planning import Channel
from services.fieldwork.schemas import (
    AnswerOut,
    AssignIn,
    AuditorIn,
    AuditorOut,
    GridOut,
    GridSummaryOut,
    ReturnIn,
    SubmissionIn,
    SubmissionOut,
    TaskDetailOut,
    TaskOut,
    TaskPage,
)
from shared.app import RuntimeDep, SessionDep
from shared.auth import Principal, Role, require
from shared.errors import NotFound

router = APIRouter()

Operator = require(Role.OPERATOR)
OperatorOrAuditor = Annotated[Principal, require(Role.OPERATOR, Role.AUDITOR)]
Auditor = Annotated[Principal, require(Role.AUDITOR)]


async def _grid_out(session: AsyncSession, grid: Grid) -> GridOut:
    snapshot = await grid_repo.snapshot(session, grid)
    return GridOut(id=grid.id, **snapshot.model_dump())


# --- grids ------------------------------------------------------------------------------------


@router.get("/grids", response_model=list[GridSummaryOut], tags=["grids"])
async def list_grids(_: OperatorOrAuditor, session: SessionDep) -> list[GridSummaryOut]:
    return [
        GridSummaryOut(id=g.id, code=g.code, version=g.version, channel=g.channel, item_count=count)
        for g, count in await grid_repo.list_grids(session)
    ]


@router.get("/grids/{code}/versions/{version}", response_model=GridOut, tags=["grids"])
async def get_grid(
    code: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,50}$")],
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    _: OperatorOrAuditor,
    session: SessionDep,
) -> GridOut:
    grid = await grid_repo.find_grid(session, code, version)
    if grid is None:
        raise NotFound(f"no grid {code!r} version {version}")
    return await _grid_out(session, grid)


# --- auditors ---------------------------------------------------------------------------------


@router.post(
    "/auditors",
    response_model=AuditorOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Operator],
    tags=["auditors"],
)
async def create_auditor(body: AuditorIn, session: SessionDep) -> AuditorOut:
    auditor, linked = await service.create_auditor(session, body)
    return AuditorOut(
        id=auditor.id,
        pseudonym=auditor.pseudonym,
        home_commune_code=auditor.home_commune_code,
        linked_structure_ids=linked,
    )


@router.get(
    "/auditors/{auditor_id}", response_model=AuditorOut, dependencies=[Operator], tags=["auditors"]
)
async def get_auditor(auditor_id: uuid.UUID, session: SessionDep) -> AuditorOut:
    auditor = await service.get_auditor(session, auditor_id)
    return AuditorOut(
        id=auditor.id,
        pseudonym=auditor.pseudonym,
        home_commune_code=auditor.home_commune_code,
        linked_structure_ids=await service.linked_structures(session, auditor.id),
    )


# --- tasks ------------------------------------------------------------------------------------


@router.get(
    "/editions/{edition_id}/tasks",
    response_model=TaskPage,
    dependencies=[Operator],
    tags=["tasks"],
)
async def list_tasks(
    edition_id: uuid.UUID,
    session: SessionDep,
    structure_id: uuid.UUID | None = None,
    status: TaskStatus | None = None,
    channel: Channel | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> TaskPage:
    page, next_cursor = await service.list_tasks(
        session,
        edition_id,
        structure_id=structure_id,
        status=status,
        channel=channel,
        limit=limit,
        cursor=cursor,
    )
    return TaskPage(items=[TaskOut.model_validate(t, from_attributes=True) for t in page],
                    next_cursor=next_cursor)  # fmt: skip


async def _detail(session: AsyncSession, task: AuditTask) -> TaskDetailOut:
    grid = await session.get_one(Grid, task.grid_id)
    answers = await service.task_answers(session, task.id)
    submission = None
    if answers or task.submitted_at is not None:
        submission = SubmissionOut(
            answers=[AnswerOut.model_validate(a, from_attributes=True) for a in answers],
            remarks=task.remarks,
            evidence=task.evidence,
            submitted_at=task.submitted_at,
        )
    base = TaskOut.model_validate(task, from_attributes=True)
    return TaskDetailOut(
        **base.model_dump(), grid=await _grid_out(session, grid), submission=submission
    )


@router.get("/tasks/{task_id}", response_model=TaskDetailOut, tags=["tasks"])
async def get_task(
    task_id: uuid.UUID, principal: OperatorOrAuditor, session: SessionDep
) -> TaskDetailOut:
    task = await service.get_task(session, task_id)
    service.ensure_may_read(task, principal)
    return await _detail(session, task)


@router.post(
    "/tasks/{task_id}/assign", response_model=TaskOut, dependencies=[Operator], tags=["tasks"]
)
async def assign_task(task_id: uuid.UUID, body: AssignIn, session: SessionDep) -> AuditTask:
    return await service.assign(session, task_id, body.auditor_id)


@router.post("/tasks/{task_id}/start", response_model=TaskOut, tags=["tasks"])
async def start_task(task_id: uuid.UUID, principal: Auditor, session: SessionDep) -> AuditTask:
    return await service.start(session, task_id, principal)


@router.post("/tasks/{task_id}/submission", response_model=TaskDetailOut, tags=["tasks"])
async def submit_task(
    task_id: uuid.UUID, body: SubmissionIn, principal: Auditor, session: SessionDep
) -> TaskDetailOut:
    task = await service.submit(
        session,
        task_id,
        principal,
        answers=body.answers,
        remarks=body.remarks,
        evidence=body.evidence,
    )
    return await _detail(session, task)


@router.post(
    "/tasks/{task_id}/return", response_model=TaskOut, dependencies=[Operator], tags=["tasks"]
)
async def return_task(task_id: uuid.UUID, body: ReturnIn, session: SessionDep) -> AuditTask:
    return await service.return_for_correction(session, task_id, body.reason)


@router.post(
    "/tasks/{task_id}/validate", response_model=TaskOut, dependencies=[Operator], tags=["tasks"]
)
async def validate_task(task_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep) -> AuditTask:
    return await service.validate(session, task_id, runtime.outbox)


@router.post(
    "/tasks/{task_id}/cancel", response_model=TaskOut, dependencies=[Operator], tags=["tasks"]
)
async def cancel_task(task_id: uuid.UUID, session: SessionDep) -> AuditTask:
    return await service.cancel(session, task_id)
