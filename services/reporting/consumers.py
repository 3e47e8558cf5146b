"""Reporting's consumers: registry (editions, registrations), fieldwork (audits' grids and
remarks) and scoring (every figure); each event's effect commits with its inbox row."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.models import partner_access
from services.reporting.readmodel import service
from shared.app import ServiceRuntime
from shared.consumer import EventConsumer, EventHandler
from shared.contracts.fieldwork import AuditValidatedV2
from shared.contracts.registry import (
    EditionCalendarChangedV1,
    EditionCreatedV1,
    EditionStatusChangedV1,
    RegistrationAcceptedV1,
    RegistrationAcceptedV2,
    RegistrationWithdrawnV1,
    StratumChangedV1,
)
from shared.contracts.scoring import ScoresUpdatedV1
from shared.events import EventEnvelope, Payload
from shared.opt_ins import opt_in_consumer


async def on_registry(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
    if isinstance(payload, EditionCreatedV1):
        await service.edition_created(session, payload)
    elif isinstance(payload, EditionStatusChangedV1):
        await service.edition_status_changed(session, payload)
    elif isinstance(payload, EditionCalendarChangedV1):
        await service.edition_calendar_changed(session, payload)
    elif isinstance(payload, RegistrationAcceptedV1 | RegistrationAcceptedV2):
        await service.registration_accepted(session, payload)
    elif isinstance(payload, RegistrationWithdrawnV1):
        await service.registration_withdrawn(session, payload)
    elif isinstance(payload, StratumChangedV1):
        await service.stratum_changed(session, payload)


async def on_audit_validated(
    session: AsyncSession, envelope: EventEnvelope, payload: Payload
) -> None:
    # A v1 audit (from a fieldwork not yet upgraded) carries no remark, scenario or revision:
    # reporting keeps nothing of it; its score still arrives through scoring.
    if isinstance(payload, AuditValidatedV2):
        await service.audits_validated(session, [payload])


async def on_scores_updated(
    session: AsyncSession, envelope: EventEnvelope, payload: Payload
) -> None:
    assert isinstance(payload, ScoresUpdatedV1)
    await service.scores_updated(session, payload)


REGISTRY_SUBJECTS = (
    "registry.edition.created.v1",
    "registry.edition.status_changed.v1",
    "registry.edition.calendar_changed.v1",
    "registry.registration.accepted.v1",
    "registry.registration.accepted.v2",
    "registry.registration.withdrawn.v1",
    "registry.structure.stratum_changed.v1",
)


def consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    registry: dict[str, EventHandler] = dict.fromkeys(REGISTRY_SUBJECTS, on_registry)
    return [
        runtime.consumer(durable="reporting-registry", producer="registry", handlers=registry),
        runtime.consumer(
            durable="reporting-fieldwork",
            producer="fieldwork",
            handlers={
                "fieldwork.audit.validated.v1": on_audit_validated,
                "fieldwork.audit.validated.v2": on_audit_validated,
            },
        ),
        runtime.consumer(
            durable="reporting-scores",
            producer="scoring",
            handlers={"scoring.scores.updated.v1": on_scores_updated},
        ),
        opt_in_consumer(runtime, partner_access),
    ]
