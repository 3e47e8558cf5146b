"""Reporting's read model follows accepted registrations and audit scores.

Both arrive on different streams in no guaranteed order; the scorecard joins them at read
time, so either may come first.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.models import Participant, ScoredAudit
from shared.app import ServiceRuntime
from shared.consumer import EventConsumer
from shared.contracts.registry import RegistrationAcceptedV1, RegistrationAcceptedV2
from shared.contracts.scoring import AuditScoredV1, ScoresUpdatedV1
from shared.events import EventEnvelope, Payload


async def on_registration_accepted(
    session: AsyncSession, envelope: EventEnvelope, payload: Payload
) -> None:
    if isinstance(payload, RegistrationAcceptedV2):
        payload = payload.as_v1()
    assert isinstance(payload, RegistrationAcceptedV1)
    values = {
        "structure_type": payload.structure_type,
        "stratum_code": payload.stratum_code,
        "stratum_label": payload.stratum_label,
        "certified": payload.certified,
    }
    await session.execute(
        insert(Participant)
        .values(edition_id=payload.edition_id, structure_id=payload.structure_id, **values)
        .on_conflict_do_update(
            index_elements=[Participant.edition_id, Participant.structure_id], set_=values
        )
    )


async def on_audit_scored(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
    assert isinstance(payload, AuditScoredV1)
    values = {
        "edition_id": payload.edition_id,
        "structure_id": payload.structure_id,
        "channel": payload.channel,
        "score": payload.score,
    }
    await session.execute(
        insert(ScoredAudit)
        .values(audit_id=payload.audit_id, **values)
        .on_conflict_do_update(index_elements=[ScoredAudit.audit_id], set_=values)
    )


async def on_scores_updated(
    session: AsyncSession, envelope: EventEnvelope, payload: Payload
) -> None:
    """The audit scores a scoring batch carries (its other figures are for the read model
    that reporting's rewrite builds)."""
    assert isinstance(payload, ScoresUpdatedV1)
    if not payload.audits:
        return
    stmt = insert(ScoredAudit)
    await session.execute(
        stmt.values(
            [
                {"audit_id": a.audit_id, "edition_id": payload.edition_id,
                 "structure_id": a.structure_id, "channel": a.channel, "score": a.score}
                for a in payload.audits
            ]
        ).on_conflict_do_update(
            index_elements=[ScoredAudit.audit_id],
            set_={c: stmt.excluded[c] for c in ("edition_id", "structure_id", "channel", "score")},
        )
    )  # fmt: skip


def consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    return [
        runtime.consumer(
            durable="reporting-registry",
            producer="registry",
            handlers={
                "registry.registration.accepted.v1": on_registration_accepted,
                "registry.registration.accepted.v2": on_registration_accepted,
            },
        ),
        runtime.consumer(
            durable="reporting-scoring",
            producer="scoring",
            handlers={
                "scoring.audit.scored.v1": on_audit_scored,
                "scoring.scores.updated.v1": on_scores_updated,
            },
        ),
    ]
