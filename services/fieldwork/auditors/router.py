"""HTTP routes of the auditors domain: profiles and assignment."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from services.fieldwork.access import Operator
from services.fieldwork.auditors import service
from services.fieldwork.auditors.schemas import (
    AuditorIn,
    AuditorOut,
    AuditorPage,
    AuditorPatch,
    AutoAssignmentOut,
    UnassignedOut,
)
from services.fieldwork.tasks.schemas import AssignIn, TaskOut
from shared.app import SessionDep

router = APIRouter(tags=["auditors"])


def _out(auditor: service.Auditor, linked: list[uuid.UUID]) -> AuditorOut:
    return AuditorOut(
        id=auditor.id,
        pseudonym=auditor.pseudonym,
        home_departement_code=auditor.home_departement_code,
        channels=auditor.channels,
        weekly_capacity=auditor.weekly_capacity,
        active=auditor.active,
        linked_structure_ids=linked,
    )


@router.post("/auditors", response_model=AuditorOut, status_code=status.HTTP_201_CREATED)
async def create_auditor(body: AuditorIn, _: Operator, session: SessionDep) -> AuditorOut:
    return _out(*await service.create(session, body))


@router.get("/auditors", response_model=AuditorPage)
async def list_auditors(_: Operator, session: SessionDep) -> AuditorPage:
    return AuditorPage(items=[_out(a, linked) for a, linked in await service.list_all(session)])


@router.get("/auditors/{auditor_id}", response_model=AuditorOut)
async def get_auditor(auditor_id: uuid.UUID, _: Operator, session: SessionDep) -> AuditorOut:
    return _out(*await service.get(session, auditor_id))


@router.patch("/auditors/{auditor_id}", response_model=AuditorOut)
async def update_auditor(
    auditor_id: uuid.UUID, body: AuditorPatch, _: Operator, session: SessionDep
) -> AuditorOut:
    return _out(*await service.update(session, auditor_id, body))


@router.post("/editions/{edition_id}/auto-assignment", response_model=AutoAssignmentOut)
async def auto_assign(
    edition_id: uuid.UUID, principal: Operator, session: SessionDep
) -> AutoAssignmentOut:
    assigned, refused = await service.auto_assign(session, edition_id, principal)
    return AutoAssignmentOut(
        assigned=assigned,
        unassigned=[UnassignedOut(task_id=u.task_id, reason=u.reason) for u in refused],
    )


@router.post("/tasks/{task_id}/assign", response_model=TaskOut, tags=["tasks"])
async def assign_task(
    task_id: uuid.UUID, body: AssignIn, principal: Operator, session: SessionDep
) -> TaskOut:
    task = await service.assign(session, task_id, body.auditor_id, principal)
    return TaskOut.model_validate(task, from_attributes=True)
