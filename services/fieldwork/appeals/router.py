"""HTTP routes of the appeals domain: a structure's audits and appeals, the operator's decision."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from services.fieldwork.access import Operator, OperatorOrStructure, Structure
from services.fieldwork.appeals import service
from services.fieldwork.appeals.schemas import (
    AppealIn,
    AppealOut,
    AuditOut,
    RejectIn,
    UpholdIn,
)
from services.fieldwork.submissions.schemas import AnswerOut
from shared.app import RuntimeDep, SessionDep

router = APIRouter(tags=["appeals"])


@router.get(
    "/editions/{edition_id}/structures/{structure_id}/audits", response_model=list[AuditOut]
)
async def structure_audits(
    edition_id: uuid.UUID, structure_id: uuid.UUID, principal: OperatorOrStructure,
    session: SessionDep,
) -> list[AuditOut]:  # fmt: skip
    return [
        AuditOut(
            id=task.id,
            site_id=task.site_id,
            channel=task.channel,
            planned_on=task.planned_on,
            scenario_code=task.scenario_code,
            grid_code=code,
            grid_version=version,
            revision=task.revision,
            reply_delay_working_days=task.reply_delay_working_days,
            validated_at=task.validated_at,
            answers=[AnswerOut.model_validate(a, from_attributes=True) for a in answers],
        )
        for task, code, version, answers in await service.audits_of_structure(
            session, edition_id, structure_id, principal
        )
    ]


@router.get(
    "/editions/{edition_id}/structures/{structure_id}/appeals", response_model=list[AppealOut]
)
async def structure_appeals(
    edition_id: uuid.UUID, structure_id: uuid.UUID, principal: OperatorOrStructure,
    session: SessionDep,
) -> list[AppealOut]:  # fmt: skip
    appeals = await service.of_structure(session, edition_id, structure_id, principal)
    return [AppealOut.model_validate(a, from_attributes=True) for a in appeals]


@router.post(
    "/tasks/{task_id}/appeals", response_model=AppealOut, status_code=status.HTTP_201_CREATED
)
async def lodge_appeal(
    task_id: uuid.UUID, body: AppealIn, principal: Structure, session: SessionDep
) -> AppealOut:
    appeal = await service.lodge(session, task_id, principal, body.item_code, body.reason)
    return AppealOut.model_validate(appeal, from_attributes=True)


@router.post("/appeals/{appeal_id}/uphold", response_model=AppealOut)
async def uphold_appeal(
    appeal_id: uuid.UUID, body: UpholdIn, principal: Operator, session: SessionDep,
    runtime: RuntimeDep,
) -> AppealOut:  # fmt: skip
    appeal = await service.uphold(
        session, runtime.outbox, appeal_id, principal,
        value=body.value, not_applicable=body.not_applicable, reason=body.reason,
    )  # fmt: skip
    return AppealOut.model_validate(appeal, from_attributes=True)


@router.post("/appeals/{appeal_id}/reject", response_model=AppealOut)
async def reject_appeal(
    appeal_id: uuid.UUID, body: RejectIn, _: Operator, session: SessionDep, runtime: RuntimeDep
) -> AppealOut:
    appeal = await service.reject(session, runtime.outbox, appeal_id, body.reason)
    return AppealOut.model_validate(appeal, from_attributes=True)
