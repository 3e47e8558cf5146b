"""Scoring's reaction to events: score each validated audit and announce the score."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import AuditScore
from services.scoring.rules import UnscorableAudit, score_audit
from shared.app import ServiceRuntime
from shared.consumer import EventConsumer, EventHandler, PermanentEventError
from shared.contracts.fieldwork import AuditValidatedV1
from shared.contracts.scoring import AuditScoredV1
from shared.events import EventEnvelope, Payload
from shared.outbox import Outbox


def audit_validated_handler(outbox: Outbox) -> EventHandler:
    async def on_audit_validated(
        session: AsyncSession, envelope: EventEnvelope, payload: Payload
    ) -> None:
        assert isinstance(payload, AuditValidatedV1)
        try:
            result = score_audit(payload.grid, payload.answers)
        except UnscorableAudit as exc:
            raise PermanentEventError(str(exc)) from exc
        values = {
            "edition_id": payload.edition_id,
            "structure_id": payload.structure_id,
            "site_id": payload.site_id,
            "channel": payload.channel,
            "grid_code": payload.grid.code,
            "grid_version": payload.grid.version,
            "score": result.score,
            "points_obtained": result.obtained,
            "points_possible": result.possible,
            "source_event_id": envelope.id,
        }
        # A re-validated audit (same audit id, new event) replaces its previous score.
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
                score=result.score,
                points_obtained=result.obtained,
                points_possible=result.possible,
            ),
            edition=payload.edition_id,
        )

    return on_audit_validated


def consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    handler = audit_validated_handler(runtime.outbox)
    return [
        runtime.consumer(
            durable="scoring-fieldwork",
            producer="fieldwork",
            handlers={"fieldwork.audit.validated.v1": handler},
        )
    ]
