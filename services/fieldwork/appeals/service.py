"""Appeals: a structure contests an item of one of its validated audits within the edition's
appeal window; the operator upholds it (the answer is corrected and the audit re-validated
under a new revision) or rejects it, with a reason either way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.appeals import repository
from services.fieldwork.grids import service as grid_service
from services.fieldwork.models import Appeal, AuditTask
from services.fieldwork.plans import service as plan_service
from services.fieldwork.statuses import AppealStatus, TaskStatus
from services.fieldwork.submissions import service as submission_service
from services.fieldwork.submissions.rules import PARIS, value_problem
from services.fieldwork.tasks import repository as task_repository
from services.fieldwork.tasks import service as task_service
from shared.auth import Principal, ensure_acts_for_structure
from shared.contracts.fieldwork import AnswerV2, AppealDecidedV1
from shared.errors import Conflict, NotFound, Unprocessable
from shared.outbox import Outbox


async def lodge(
    session: AsyncSession, task_id: uuid.UUID, principal: Principal, item_code: str, reason: str
) -> Appeal:
    task = await task_service.get_task(session, task_id)
    ensure_acts_for_structure(principal, task.structure_id)
    if task.status != TaskStatus.VALIDATED:
        raise Conflict(f"only a validated audit can be appealed; this one is {task.status}")
    edition = await plan_service.get_settings(session, task.edition_id)
    today = datetime.now(PARIS).date()
    opens, closes = edition.appeal_opens_on, edition.appeal_closes_on
    if opens is None or closes is None or not (opens <= today <= closes):
        window = f"{opens} to {closes}" if opens and closes else "not set"
        raise Conflict(f"the appeal window is closed (window: {window})")
    grid = grid_service.definition_of(await grid_service.get_by_id(session, task.grid_id))
    if item_code not in {i.code for i in grid.items}:
        raise Unprocessable(f"{item_code}: not an item of grid {grid.code} v{grid.version}")
    appeal = Appeal(
        id=uuid.uuid4(),
        task_id=task.id,
        edition_id=task.edition_id,
        structure_id=task.structure_id,
        item_code=item_code,
        reason=reason,
        status=AppealStatus.OPEN.value,
        created_at=datetime.now(UTC),
    )
    await repository.add(session, appeal)
    return appeal


async def _open_appeal(session: AsyncSession, appeal_id: uuid.UUID) -> Appeal:
    appeal = await repository.get(session, appeal_id, lock=True)
    if appeal is None:
        raise NotFound(f"no appeal {appeal_id}")
    if appeal.status != AppealStatus.OPEN:
        raise Conflict(f"the appeal is already {appeal.status}")
    return appeal


async def uphold(
    session: AsyncSession,
    outbox: Outbox,
    appeal_id: uuid.UUID,
    principal: Principal,
    *,
    value: bool | object,
    not_applicable: bool,
    reason: str,
) -> Appeal:
    appeal = await _open_appeal(session, appeal_id)
    task = await task_service.get_task(session, appeal.task_id, lock=True)
    grid = grid_service.definition_of(await grid_service.get_by_id(session, task.grid_id))
    item = next(i for i in grid.items if i.code == appeal.item_code)
    if not_applicable:
        if not item.not_applicable_allowed or value is not None:
            raise Unprocessable(
                f"{item.code}: 'not applicable' is not allowed here, or has a value"
            )
        corrected = AnswerV2(item_code=item.code, not_applicable=True)
    else:
        problem = value_problem(item, value)  # type: ignore[arg-type]
        if problem is not None:
            raise Unprocessable(f"{item.code}: {problem}")
        corrected = AnswerV2(item_code=item.code, value=value)
    answers = await submission_service.task_answers(session, task.id)
    answers = [a for a in answers if a.item_code != item.code] + [corrected]
    order = {i.code: n for n, i in enumerate(grid.items)}
    answers.sort(key=lambda a: order[a.item_code])
    await task_repository.replace_answers(
        session,
        task.id,
        [submission_service.answer_row(n, a) for n, a in enumerate(answers, start=1)],
    )
    await _correct(session, outbox, task, principal, reason)
    appeal.status = AppealStatus.UPHELD.value
    appeal.decision_reason = reason
    appeal.corrected_answer = corrected.model_dump(mode="json")
    appeal.decided_at = datetime.now(UTC)
    await _announce(session, outbox, appeal, revision=task.revision)
    return appeal


async def _correct(
    session: AsyncSession, outbox: Outbox, task: AuditTask, principal: Principal, reason: str
) -> None:
    task.validated_at = await task_service.move(
        session, task, "revalidate", principal, reason=f"appeal upheld: {reason}"
    )
    await submission_service.announce(session, outbox, task)


async def reject(
    session: AsyncSession, outbox: Outbox, appeal_id: uuid.UUID, reason: str
) -> Appeal:
    appeal = await _open_appeal(session, appeal_id)
    appeal.status = AppealStatus.REJECTED.value
    appeal.decision_reason = reason
    appeal.decided_at = datetime.now(UTC)
    await _announce(session, outbox, appeal, revision=None)
    return appeal


async def _announce(
    session: AsyncSession, outbox: Outbox, appeal: Appeal, *, revision: int | None
) -> None:
    """The decision, announced with it (`fieldwork.appeal.decided.v1`): the reason stays here."""
    assert appeal.decided_at is not None
    await outbox.add(
        session,
        AppealDecidedV1(
            appeal_id=appeal.id,
            audit_id=appeal.task_id,
            edition_id=appeal.edition_id,
            structure_id=appeal.structure_id,
            item_code=appeal.item_code,
            decision="upheld" if appeal.status == AppealStatus.UPHELD else "rejected",
            revision=revision,
            decided_at=appeal.decided_at,
        ),
        edition=appeal.edition_id,
    )
    await session.flush()


async def of_structure(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID, principal: Principal
) -> list[Appeal]:
    ensure_acts_for_structure(principal, structure_id)
    return await repository.of_structure(session, edition_id, structure_id)


async def audits_of_structure(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID, principal: Principal
) -> list[tuple[AuditTask, str, int, list[AnswerV2]]]:
    ensure_acts_for_structure(principal, structure_id)
    grids = {g.id: g for g in await grid_service.list_grids(session)}
    return [
        (
            task,
            grids[task.grid_id].code,
            grids[task.grid_id].version,
            await submission_service.task_answers(session, task.id),
        )
        for task in await repository.validated_tasks(session, edition_id, structure_id)
    ]
