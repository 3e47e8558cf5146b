"""Submissions: an auditor's answers and evidence checked against the task's grid version,
delays measured by the service, and validation announcing `fieldwork.audit.validated.v2`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.grids import service as grid_service
from services.fieldwork.models import AuditTask, FieldworkEdition, Grid, SitePlan, TaskAnswer
from services.fieldwork.plans import service as plan_service
from services.fieldwork.submissions.rules import (
    Facts,
    Given,
    check_answers,
    evidence_problems,
    measures,
)
from services.fieldwork.submissions.schemas import AnswerIn, BulkSubmissionIn, EvidenceIn
from services.fieldwork.tasks import repository as task_repository
from services.fieldwork.tasks import service as task_service
from services.fieldwork.voice.rules import mask_names
from shared.auth import Principal
from shared.contracts.fieldwork import AnswerV2, AuditValidatedV2, GridPublishedV1
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.outbox import Outbox


@dataclass(frozen=True)
class BulkSubmitted:
    submitted: int
    validated: int


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
    checked, measured, problems = _checked(task, plan, edition, grid, answers, evidence)
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
    _record(task, evidence, remarks, measured)
    await session.flush()
    if edition.auto_validate:
        await validate(session, outbox, task.id, task_service.SYSTEM, reason="automatic")
    return task


def _checked(
    task: AuditTask,
    plan: SitePlan,
    edition: FieldworkEdition,
    grid: GridPublishedV1,
    answers: Sequence[AnswerIn],
    evidence: EvidenceIn,
) -> tuple[list[AnswerV2], dict[str, int | None], list[str]]:
    """The answers to store, what the service measured, and the problems forbidding them."""
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
        grid, [Given(a.item_code, a.value, a.not_applicable) for a in answers], measured
    )
    return checked, measured, problems + answer_problems


def _record(
    task: AuditTask, evidence: EvidenceIn, remarks: str | None, measured: dict[str, int | None]
) -> None:
    task.remarks = remarks
    task.evidence = evidence.model_dump(mode="json", exclude_none=True)
    task.reply_delay_working_days = measured["delay_working_days"]
    task.submitted_at = task.updated_at


async def submit_many(
    session: AsyncSession, outbox: Outbox, principal: Principal, items: Sequence[BulkSubmissionIn]
) -> BulkSubmitted:
    """An auditor's submissions in one set-based transaction, all or nothing: the tasks locked
    in one query, every submission checked (a 404, 403, 409 or 422 names each task at fault),
    then the moves, answers and task rows written together; with the edition's
    `auto_validate`, validated and announced in the same transaction."""
    ids = [item.task_id for item in items]
    if len(set(ids)) != len(ids):
        raise Unprocessable("a task is submitted twice in this request", field="submissions")
    tasks = await task_repository.get_many(session, ids, lock=True)
    _ensure_found(ids, tasks)
    refused = [str(t) for t in ids if tasks[t].auditor_id is None
               or str(tasks[t].auditor_id) != principal.subject]  # fmt: skip
    if refused:
        raise Forbidden("these audit tasks are not assigned to you", task_ids=refused)
    _ensure_all_can(tasks.values(), "submit")
    plans = await task_repository.site_plans_of(session, list(tasks.values()))
    editions = {e: await plan_service.get_settings(session, e)
                for e in {t.edition_id for t in tasks.values()}}  # fmt: skip
    grids = await _definitions(session, tasks.values())
    problems: list[dict[str, Any]] = []
    checked: dict[uuid.UUID, tuple[list[AnswerV2], dict[str, int | None]]] = {}
    for index, item in enumerate(items):
        task = tasks[item.task_id]
        answers, measured, found = _checked(
            task, plans[(task.edition_id, task.site_id)], editions[task.edition_id],
            grids[task.grid_id], item.answers, item.evidence,
        )  # fmt: skip
        if found:
            problems.append({"index": index, "task_id": str(task.id), "problems": found})
        checked[task.id] = (answers, measured)
    if problems:
        raise Unprocessable(
            f"{len(problems)} submission(s) do not fit their grid: nothing was submitted",
            submissions=problems,
        )
    moves = [task_service.transition_row(tasks[i.task_id], "submit", principal) for i in items]
    await task_repository.add_transitions(session, moves)
    await task_repository.replace_answers_of(
        session,
        {i: [answer_row(p, a) for p, a in enumerate(checked[i][0], start=1)] for i in ids},
    )
    for item in items:
        _record(tasks[item.task_id], item.evidence, item.remarks, checked[item.task_id][1])
    await session.flush()
    automatic = [t for t in tasks.values() if editions[t.edition_id].auto_validate]
    if automatic:
        await _validate_tasks(session, outbox, automatic, task_service.SYSTEM, reason="automatic")
    return BulkSubmitted(submitted=len(ids), validated=len(automatic))


def _ensure_found(ids: Sequence[uuid.UUID], tasks: dict[uuid.UUID, AuditTask]) -> None:
    missing = [str(i) for i in ids if i not in tasks]
    if missing:
        raise NotFound(f"no audit task {', '.join(missing[:20])}", task_ids=missing)


def _ensure_all_can(tasks: Iterable[AuditTask], action: str) -> None:
    blocked = [{"task_id": str(t.id), "status": t.status} for t in tasks
               if not task_service.can(t, action)]  # fmt: skip
    if blocked:
        raise Conflict(
            f"{len(blocked)} audit task(s) cannot {action} from their status: nothing changed",
            tasks=blocked,
        )


async def _definitions(
    session: AsyncSession, tasks: Iterable[AuditTask]
) -> dict[uuid.UUID, GridPublishedV1]:
    return {g: grid_service.definition_of(await grid_service.get_by_id(session, g))
            for g in {t.grid_id for t in tasks}}  # fmt: skip


def validated_event(
    task: AuditTask, plan: SitePlan, grid: Grid, answers: list[AnswerV2]
) -> AuditValidatedV2:
    """The task's current answers as a new revision of its validated audit (the revision is
    counted on the task); the event names no auditor (they stay anonymous)."""
    facts = facts_of(task.evidence) if task.evidence else None
    task.revision += 1
    return AuditValidatedV2(
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
        answers=answers,
        contacted_at=facts.contacted_at if facts else None,
        answered_at=facts.answered_at if facts else None,
        reply_delay_working_days=task.reply_delay_working_days,
        # The auditor's remark goes to the structure's report: personal names masked.
        remarks=mask_names(task.remarks) if task.remarks else None,
        validated_at=task.validated_at or datetime.now(UTC),
    )


async def announce(session: AsyncSession, outbox: Outbox, task: AuditTask) -> None:
    """Publish the task's current answers as a new revision of its validated audit."""
    plan = await task_service.site_plan(session, task)
    grid = await grid_service.get_by_id(session, task.grid_id)
    answers = await task_answers(session, task.id)
    await outbox.add(session, validated_event(task, plan, grid, answers), edition=task.edition_id)
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


async def validate_many(
    session: AsyncSession,
    outbox: Outbox,
    edition_id: uuid.UUID,
    task_ids: Sequence[uuid.UUID],
    principal: Principal,
) -> int:
    """Validate submitted tasks of one edition in one set-based transaction, all or nothing
    (404 naming unknown tasks, 409 naming those not submitted); one event per task."""
    if len(set(task_ids)) != len(task_ids):
        raise Unprocessable("a task is named twice in this request", field="task_ids")
    tasks = await task_repository.get_many(session, task_ids, lock=True)
    _ensure_found(task_ids, {i: t for i, t in tasks.items() if t.edition_id == edition_id})
    _ensure_all_can(tasks.values(), "validate")
    await _validate_tasks(session, outbox, list(tasks.values()), principal, reason=None)
    return len(tasks)


async def _validate_tasks(
    session: AsyncSession,
    outbox: Outbox,
    tasks: Sequence[AuditTask],
    principal: Principal,
    *,
    reason: str | None,
) -> None:
    moves = [task_service.transition_row(t, "validate", principal, reason=reason) for t in tasks]
    await task_repository.add_transitions(session, moves)
    for task, move in zip(tasks, moves, strict=True):
        task.validated_at = move["at"]
    plans = await task_repository.site_plans_of(session, tasks)
    answers = await task_repository.answers_of(session, [t.id for t in tasks])
    grids = {g: await grid_service.get_by_id(session, g) for g in {t.grid_id for t in tasks}}
    by_edition: dict[uuid.UUID, list[AuditValidatedV2]] = {}
    for task in tasks:
        event = validated_event(
            task, plans[(task.edition_id, task.site_id)], grids[task.grid_id],
            [answer_of(row) for row in answers.get(task.id, [])],
        )  # fmt: skip
        by_edition.setdefault(task.edition_id, []).append(event)
    for edition, events in by_edition.items():
        await outbox.add_many(session, events, edition=edition)
    await session.flush()
