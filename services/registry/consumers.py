"""The registry's consumers: events partners hear of by webhook (its own accepted registrations
and published editions, fieldwork's appeal decisions) become deliveries, each event's
deliveries committed with its inbox row."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.webhooks import rules
from services.registry.webhooks import service as webhooks
from shared.app import ServiceRuntime
from shared.consumer import EventConsumer
from shared.contracts.fieldwork import AppealDecidedV1
from shared.contracts.registry import (
    EditionStatusChangedV1,
    RegistrationAcceptedV1,
    RegistrationAcceptedV2,
)
from shared.events import EventEnvelope, Payload


async def on_registry(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
    if isinstance(payload, RegistrationAcceptedV1 | RegistrationAcceptedV2):
        occurrences = [rules.registration_accepted(envelope.id, envelope.occurred_at, payload)]
    elif isinstance(payload, EditionStatusChangedV1):
        if payload.to_status != rules.PUBLISHED:
            return
        accepted = await webhooks.accepted_structures(session, payload.edition_id)
        occurrences = rules.publication(envelope.id, envelope.occurred_at, payload, accepted)
    else:
        return
    await webhooks.record(session, occurrences)


async def on_fieldwork(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
    assert isinstance(payload, AppealDecidedV1)
    await webhooks.record(
        session, [rules.appeal_decided(envelope.id, envelope.occurred_at, payload)]
    )


REGISTRY_SUBJECTS = (
    "registry.registration.accepted.v1",
    "registry.registration.accepted.v2",
    "registry.edition.status_changed.v1",
)


def consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    return [
        runtime.consumer(
            durable="registry-webhooks",
            producer="registry",
            handlers=dict.fromkeys(REGISTRY_SUBJECTS, on_registry),
        ),
        runtime.consumer(
            durable="registry-webhooks-fieldwork",
            producer="fieldwork",
            handlers={"fieldwork.appeal.decided.v1": on_fieldwork},
        ),
    ]
