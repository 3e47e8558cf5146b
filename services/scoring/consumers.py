"""Scoring's reaction to events: score each validated audit and announce the score."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import AuditScore, GridCopy
from services.scoring.rules import UnscorableAudit, score_audit
from shared.app import ServiceRuntime
from shared.consumer import EventConsumer, EventHandler, PermanentEventError
from shared.contracts.fieldwork import (
    AnswerV2,
    AuditValidatedV1,
    AuditValidatedV2,
    GridItemV2,
    GridPublishedV1,
)
from shared.contracts.scoring import AuditScoredV1
from shared.events import EventEnvelope, Payload
from shared.outbox import Outbox


class Points(NamedTuple):
    score: Decimal
    points_obtained: Decimal
    points_possible: Decimal


async def store_score(
    session: AsyncSession,
    outbox: Outbox,
    envelope: EventEnvelope,
    payload: AuditValidatedV1 | AuditValidatedV2,
    grid: tuple[str, int],
    score: Points,
) -> None:
    """Keep an audit's score (a re-validated audit replaces its previous one) and announce it."""
    values = {
        "edition_id": payload.edition_id,
        "structure_id": payload.structure_id,
        "site_id": payload.site_id,
        "channel": payload.channel,
        "grid_code": grid[0],
        "grid_version": grid[1],
        "score": score.score,
        "points_obtained": score.points_obtained,
        "points_possible": score.points_possible,
        "source_event_id": envelope.id,
    }
    await session.execute(
        insert(AuditScore)
        .values(audit_id=payload.audit_id, **values)
        .on_conflict_do_update(index_elements=[AuditScore.audit_id], set_=values)
    )
    await outbox.add(
        session,
        AuditScoredV1(
            audit_id=payload.audit_id,
            edition_id=payload.edition_id,
            structure_id=payload.structure_id,
            site_id=payload.site_id,
            channel=payload.channel,
            score=score.score,
            points_obtained=score.points_obtained,
            points_possible=score.points_possible,
        ),
        edition=payload.edition_id,
    )


def audit_validated_handler(outbox: Outbox) -> EventHandler:
    async def on_audit_validated(
        session: AsyncSession, envelope: EventEnvelope, payload: Payload
    ) -> None:
        assert isinstance(payload, AuditValidatedV1)
        try:
            result = score_audit(payload.grid, payload.answers)
        except UnscorableAudit as exc:
            raise PermanentEventError(str(exc)) from exc
        score = Points(
            score=result.score, points_obtained=result.obtained, points_possible=result.possible
        )
        await store_score(
            session, outbox, envelope, payload, (payload.grid.code, payload.grid.version), score
        )

    return on_audit_validated


# --- v2 (minimal, written on the fieldwork branch; the scoring engineer's version replaces it)


async def on_grid_published(
    session: AsyncSession, envelope: EventEnvelope, payload: Payload
) -> None:
    assert isinstance(payload, GridPublishedV1)
    await session.execute(
        insert(GridCopy)
        .values(
            code=payload.code, version=payload.version, definition=payload.model_dump(mode="json")
        )
        .on_conflict_do_nothing()
    )


def _points(item: GridItemV2, answer: AnswerV2) -> tuple[Decimal, Decimal] | None:
    """(obtained, possible) for one answer; None when it is not applicable or not scored."""
    rule = item.rule
    if answer.not_applicable or rule is None or item.weight == 0:
        return None
    if rule.curve:
        best = max([s.points for s in rule.curve] + [rule.otherwise_points])
        earned = rule.otherwise_points
        if isinstance(answer.value, Decimal):
            earned = next((s.points for s in rule.curve if answer.value <= s.up_to), earned)
    else:
        best = max(rule.points.values())
        key = str(answer.value).lower() if isinstance(answer.value, bool) else str(answer.value)
        earned = rule.points.get(key, Decimal(0))
    return item.weight * earned / best, item.weight


def audit_validated_v2_handler(outbox: Outbox) -> EventHandler:
    async def on_audit_validated_v2(
        session: AsyncSession, envelope: EventEnvelope, payload: Payload
    ) -> None:
        assert isinstance(payload, AuditValidatedV2)
        copy = await session.get(GridCopy, (payload.grid_code, payload.grid_version))
        if copy is None:  # the grid event comes first on the stream; retry if it has not
            raise LookupError(f"no copy of grid {payload.grid_code} v{payload.grid_version}")
        grid = GridPublishedV1.model_validate(copy.definition)
        items = {i.code: i for i in grid.items}
        points = [p for a in payload.answers if a.item_code in items
                  if (p := _points(items[a.item_code], a)) is not None]  # fmt: skip
        obtained = sum((p[0] for p in points), Decimal(0))
        possible = sum((p[1] for p in points), Decimal(0))
        if possible == 0:
            raise PermanentEventError("the audit has no scored item")
        score = (Decimal(100) * obtained / possible).quantize(Decimal("0.01"), ROUND_HALF_UP)
        result = Points(
            score=score,
            points_obtained=obtained.quantize(Decimal("0.0001")),
            points_possible=possible,
        )
        await store_score(
            session, outbox, envelope, payload, (payload.grid_code, payload.grid_version), result
        )

    return on_audit_validated_v2


async def on_voice_received(
    session: AsyncSession, envelope: EventEnvelope, payload: Payload
) -> None:
    """Citizen voice is not scored on this branch (the scoring engineer's version does)."""


def consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    handler = audit_validated_handler(runtime.outbox)
    return [
        runtime.consumer(
            durable="scoring-fieldwork",
            producer="fieldwork",
            handlers={
                "fieldwork.audit.validated.v1": handler,
                "fieldwork.grid.published.v1": on_grid_published,
                "fieldwork.audit.validated.v2": audit_validated_v2_handler(runtime.outbox),
                "fieldwork.voice.received.v1": on_voice_received,
            },
        )
    ]
