"""Scoring's subscriptions: grids, validated audits (v1 and v2) and citizen voice from the
`FIELDWORK` stream, applied by `ScoringApplication.apply_batch`."""

from __future__ import annotations

from services.scoring.aggregates.service import BatchOptions, ScoringApplication
from services.scoring.settings import ScoringSettings
from shared.app import ServiceRuntime
from shared.consumer import EventConsumer

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


def consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    """One durable consumer whose batches `apply_batch` applies in one transaction each."""
    return [
        runtime.consumer(
            durable=DURABLE,
            producer="fieldwork",
            batch_handler=application(runtime).apply_batch,
            subjects=SUBJECTS,
        )
    ]
