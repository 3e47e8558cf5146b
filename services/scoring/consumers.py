"""Scoring's subscriptions: grids, validated audits (v1 and v2) and citizen voice from the
`FIELDWORK` stream, applied by `ScoringApplication.apply_batch`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.aggregates.service import BatchOptions, ScoringApplication
from services.scoring.settings import ScoringSettings
from shared.app import ServiceRuntime
from shared.consumer import EventConsumer, EventHandler
from shared.events import EventEnvelope, Payload

DURABLE = "scoring-fieldwork"
SUBJECTS = (
    "fieldwork.grid.published.v1",
    "fieldwork.audit.validated.v1",
    "fieldwork.audit.validated.v2",
    "fieldwork.voice.received.v1",
)


def application(runtime: ServiceRuntime) -> ScoringApplication:
    settings = runtime.settings
    assert isinstance(settings, ScoringSettings)
    return ScoringApplication(
        runtime.outbox,
        BatchOptions(
            group_refresh_seconds=settings.group_refresh_seconds,
            publish_audit_scores=settings.publish_audit_scores,
        ),
    )


def per_event(app: ScoringApplication) -> EventHandler:
    """The adapter to today's per-event consumer API: a batch of one. When the batch API lands,
    `consumers` passes `batch_handler=app.apply_batch` instead and this goes."""

    async def handle(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
        await app.apply_batch(session, [(envelope, payload)])

    return handle


def consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    handler = per_event(application(runtime))
    return [
        runtime.consumer(
            durable=DURABLE,
            producer="fieldwork",
            handlers=dict.fromkeys(SUBJECTS, handler),
        )
    ]
