"""HTTP routes of the submissions domain: reading a task with its grid, submitting, validating."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.fieldwork.access import Auditor, Operator, OperatorOrAuditor
from services.fieldwork.grids import service as grid_service
from services.fieldwork.grids.schemas import GridOut
from services.fieldwork.submissions import service
from services.fieldwork.submissions.schemas import (
    AnswerOut,
    SubmissionIn,
    SubmissionOut,
    TaskDetailOut,
)
from services.fieldwork.tasks import service as task_service
from services.fieldwork.tasks.schemas import TaskOut
from shared.app import RuntimeDep, SessionDep

router = APIRouter(tags=["tasks"])


async def _detail(session: SessionDep, task: task_service.AuditTask) -> TaskDetailOut:
    grid = await grid_service.get_by_id(session, task.grid_id)
    answers = await service.task_answers(session, task.id)
    submission = None
    if task.submitted_at is not None:
        submission = SubmissionOut(
            answers=[AnswerOut.model_validate(a, from_attributes=True) for a in answers],
            remarks=task.remarks,
            evidence=task.evidence,
            reply_delay_working_days=task.reply_delay_working_days,
            submitted_at=task.submitted_at,
        )
    base = TaskOut.model_validate(task, from_attributes=True)
    return TaskDetailOut(
        **base.model_dump(),
        grid=GridOut(id=grid.id, **grid_service.definition_of(grid).model_dump()),
        submission=submission,
    )


@router.get("/tasks/{task_id}", response_model=TaskDetailOut)
async def get_task(
    task_id: uuid.UUID, principal: OperatorOrAuditor, session: SessionDep
) -> TaskDetailOut:
    task = await task_service.get_task(session, task_id)
    task_service.ensure_may_read(task, principal)
    return await _detail(session, task)


@router.post("/tasks/{task_id}/submission", response_model=TaskDetailOut)
async def submit_task(
    task_id: uuid.UUID,
    body: SubmissionIn,
    principal: Auditor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> TaskDetailOut:
    task = await service.submit(
        session, runtime.outbox, task_id, principal,
        answers=body.answers, evidence=body.evidence, remarks=body.remarks,
    )  # fmt: skip
    return await _detail(session, task)


@router.post("/tasks/{task_id}/validate", response_model=TaskOut)
async def validate_task(
    task_id: uuid.UUID, principal: Operator, session: SessionDep, runtime: RuntimeDep
) -> TaskOut:
    task = await service.validate(session, runtime.outbox, task_id, principal)
    return TaskOut.model_validate(task, from_attributes=True)
