"""Submissions: an auditor's answers and evidence checked against the task's grid version,
delays measured by the service, and validation announcing `fieldwork.audit.validated.v2`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.grids import service as grid_service
from services.fieldwork.models import AuditTask, TaskAnswer
from services.fieldwork.plans import service as plan_service
from services.fieldwork.submissions.rules import (
    Facts,
    Given,
    check_answers,
    evidence_problems,
    measures,
)
from services.fieldwork.submissions.schemas import AnswerIn, EvidenceIn
from services.fieldwork.tasks import repository as task_repository
from services.fieldwork.tasks import service as task_service
from services.fieldwork.voice.rules import mask_names
from shared.auth import Principal
from shared.contracts.fieldwork import AnswerV2, AuditValidatedV2
from shared.errors import Unprocessable
from shared.outbox import Outbox


def answer_row(position: int, answer: AnswerV2) -> dict[str, Any]:
    value = answer.value
    return {
        "position": position,
        "item_code": answer.item_code,
        "value_bool": value if isinstance(value, bool) else None,
        "value_number": value if isinstance(value, Decimal) else None,
        "value_text": value if isinstance(value, str) else None,
        "not_applicable": answer.not_applicable,
    }


def answer_of(row: TaskAnswer) -> AnswerV2:
    value: bool | Decimal | str | None = row.value_bool
    if row.value_number is not None:
        number = row.value_number  # stored with 4 decimals: 3 comes back as 3.0000
        value = Decimal(int(number)) if number == number.to_integral_value() else number.normalize()
    elif row.value_text is not None:
        value = row.value_text
    return AnswerV2(item_code=row.item_code, value=value, not_applicable=row.not_applicable)


async def task_answers(session: AsyncSession, task_id: uuid.UUID) -> list[AnswerV2]:
    return [answer_of(r) for r in await task_repository.answers(session, task_id)]


def facts_of(evidence: dict[str, Any]) -> Facts:
    return Facts(
        contacted_at=datetime.fromisoformat(evidence["contacted_at"]),
        answered_at=datetime.fromisoformat(evidence["answered_at"])
        if evidence.get("answered_at")
        else None,
        rings=evidence.get("rings"),
        waiting_seconds=evidence.get("waiting_seconds"),
        agent_named=evidence.get("agent_named"),
    )


async def submit(
    session: AsyncSession,
    outbox: Outbox,
    task_id: uuid.UUID,
    principal: Principal,
    *,
    answers: list[AnswerIn],
    evidence: EvidenceIn,
    remarks: str | None,
) -> AuditTask:
    task = await task_service.get_task(session, task_id, lock=True)
    task_service.ensure_assigned_auditor(task, principal)
    task_service.ensure_can(task, "submit")
    plan = await task_service.site_plan(session, task)
    edition = await plan_service.get_settings(session, task.edition_id)
    grid = grid_service.definition_of(await grid_service.get_by_id(session, task.grid_id))
    facts = Facts(
        contacted_at=evidence.contacted_at,
        answered_at=evidence.answered_at,
        rings=evidence.rings,
        waiting_seconds=evidence.waiting_seconds,
        agent_named=evidence.agent_named,
    )
    windows = plan_service.windows_of(edition, task.planned_on.year)
    problems = evidence_problems(task.channel, facts, windows)
    measured = measures(facts, plan.departement_code)
    checked, answer_problems = check_answers(
        grid,
        [Given(a.item_code, a.value, a.not_applicable) for a in answers],
        measured,
    )
    problems += answer_problems
    if problems:
        raise Unprocessable(
            f"the submission does not fit grid {grid.code} v{grid.version}: "
            f"{len(problems)} problem(s)",
            problems=problems,
        )
    await task_service.move(session, task, "submit", principal)
    await task_repository.replace_answers(
        session, task.id, [answer_row(i, a) for i, a in enumerate(checked, start=1)]
    )
    task.remarks = remarks
    task.evidence = evidence.model_dump(mode="json", exclude_none=True)
    task.reply_delay_working_days = measured["delay_working_days"]
    task.submitted_at = task.updated_at
    await session.flush()
    if edition.auto_validate:
        await validate(session, outbox, task.id, task_service.SYSTEM, reason="automatic")
    return task


async def announce(session: AsyncSession, outbox: Outbox, task: AuditTask) -> None:
    """Publish the task's current answers as a new revision of its validated audit."""
    plan = await task_service.site_plan(session, task)
    grid = await grid_service.get_by_id(session, task.grid_id)
    facts = facts_of(task.evidence) if task.evidence else None
    task.revision += 1
    await outbox.add(
        session,
        AuditValidatedV2(
            audit_id=task.id,
            revision=task.revision,
            edition_id=task.edition_id,
            structure_id=task.structure_id,
            structure_type=plan.structure_type,
            stratum_code=plan.stratum_code,
            certified=plan.certified,
            site_id=task.site_id,
            channel=task.channel,
            scenario_code=task.scenario_code,
            grid_code=grid.code,
            grid_version=grid.version,
            answers=await task_answers(session, task.id),
            contacted_at=facts.contacted_at if facts else None,
            answered_at=facts.answered_at if facts else None,
            reply_delay_working_days=task.reply_delay_working_days,
            # The auditor's remark goes to the structure's report: personal names masked.
            remarks=mask_names(task.remarks) if task.remarks else None,
            validated_at=task.validated_at or datetime.now(UTC),
        ),
        edition=task.edition_id,
    )
    await session.flush()


async def validate(
    session: AsyncSession,
    outbox: Outbox,
    task_id: uuid.UUID,
    principal: Principal,
    *,
    reason: str | None = None,
) -> AuditTask:
    """Accept a submission and announce it; the event names no auditor (they stay anonymous)."""
    task = await task_service.get_task(session, task_id, lock=True)
    task.validated_at = await task_service.move(session, task, "validate", principal, reason=reason)
    await announce(session, outbox, task)
    return task
