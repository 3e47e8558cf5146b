"""Fieldwork's reaction to events: plan the audits of every accepted registration."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork import service
from shared.app import ServiceRuntime
from shared.consumer import EventConsumer
from shared.contracts.registry import RegistrationAcceptedV1, RegistrationAcceptedV2
from shared.events import EventEnvelope, Payload


async def on_registration_accepted(
    session: AsyncSession, envelope: EventEnvelope, payload: Payload
) -> None:
    if isinstance(payload, RegistrationAcceptedV2):
        payload = payload.as_v1()
    assert isinstance(payload, RegistrationAcceptedV1)
    await service.plan_registration(session, payload, source_event_id=envelope.id)


def consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    return [
        runtime.consumer(
            durable="fieldwork-registry",
            producer="registry",
            handlers={
                "registry.registration.accepted.v1": on_registration_accepted,
                "registry.registration.accepted.v2": on_registration_accepted,
            },
        )
    ]
