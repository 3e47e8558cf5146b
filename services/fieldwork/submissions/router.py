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
    BulkSubmissionsIn,
    BulkSubmittedOut,
    BulkValidatedOut,
    BulkValidationsIn,
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


# Bulk forms: an auditor's audits captured offline, a validation session over many tasks.
# 500 submissions of a 15-item grid are about 1 MB of JSON: the route allows 4 MB.
BULK_MAX_BYTES = 4 * 1024 * 1024


@router.post("/me/submissions", response_model=BulkSubmittedOut, max_body_size=BULK_MAX_BYTES)
async def submit_many(
    body: BulkSubmissionsIn, principal: Auditor, session: SessionDep, runtime: RuntimeDep
) -> BulkSubmittedOut:
    """Submit up to 500 of one's own tasks at once, all or nothing: a task not found (404),
    not one's own (403), or not submittable from its status (409) is named; a submission that
    does not fit its grid is a 422 listing, per index, its problems."""
    done = await service.submit_many(session, runtime.outbox, principal, body.submissions)
    return BulkSubmittedOut(submitted=done.submitted, validated=done.validated)


@router.post("/editions/{edition_id}/validations", response_model=BulkValidatedOut)
async def validate_many(
    edition_id: uuid.UUID,
    body: BulkValidationsIn,
    principal: Operator,
    session: SessionDep,
    runtime: RuntimeDep,
) -> BulkValidatedOut:
    """Validate up to 2,000 submitted tasks of the edition at once, all or nothing: tasks not
    in the edition are a 404, tasks not submitted a 409 naming them; each validated task is
    announced (`fieldwork.audit.validated.v2`) in the same transaction."""
    count = await service.validate_many(
        session, runtime.outbox, edition_id, body.task_ids, principal
    )
    return BulkValidatedOut(validated=count)
