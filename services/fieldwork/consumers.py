"""Fieldwork's reaction to events: record editions' years, plan accepted registrations."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.fieldwork.models import partner_access
from services.fieldwork.plans import service as plan_service
from services.fieldwork.plans.rules import PlanningError, Quota, Window, options_of_offer
from shared.app import ServiceRuntime
from shared.consumer import EventConsumer, EventHandler, PermanentEventError
from shared.contracts.registry import (
    EditionCreatedV1,
    RegistrationAcceptedV1,
    RegistrationAcceptedV2,
)
from shared.events import EventEnvelope, Payload
from shared.opt_ins import opt_in_consumer
from shared.outbox import Outbox


def registration_input(payload: Payload) -> plan_service.RegistrationInput:
    if isinstance(payload, RegistrationAcceptedV2):
        return plan_service.RegistrationInput(
            registration_id=payload.registration_id,
            edition_id=payload.edition_id,
            edition_year=payload.edition_year,
            structure_id=payload.structure_id,
            structure_type=payload.structure_type,
            stratum_code=payload.stratum_code,
            certified=payload.certified,
            offer=payload.offer,
            options=frozenset(payload.options),
            sites=tuple(
                plan_service.SiteInput(
                    site_id=s.site_id,
                    departement_code=s.departement_code or payload.departement_code,
                    contacts={c.channel: c.value for c in s.contacts},
                )
                for s in payload.sites
            ),
            windows=tuple(Window(w.channel, w.starts_on, w.ends_on) for w in payload.windows),
            quotas=tuple(
                Quota(q.channel, q.audits_per_site, q.requires_option) for q in payload.quotas
            ),
            version=2,
        )
    assert isinstance(payload, RegistrationAcceptedV1)
    # v1 carries no calendar, quotas, options or département: the defaults stand in.
    departement = None
    if payload.commune_code:
        code = payload.commune_code
        departement = code[:3] if code.startswith("97") else code[:2]
    return plan_service.RegistrationInput(
        registration_id=payload.registration_id,
        edition_id=payload.edition_id,
        edition_year=None,
        structure_id=payload.structure_id,
        structure_type=payload.structure_type,
        stratum_code=payload.stratum_code,
        certified=payload.certified,
        offer=payload.offer,
        options=options_of_offer(payload.offer),
        sites=tuple(plan_service.SiteInput(s.site_id, departement) for s in payload.sites),
        windows=None,
        quotas=None,
        version=1,
    )


def registration_handler(outbox: Outbox) -> EventHandler:
    async def on_registration_accepted(
        session: AsyncSession, envelope: EventEnvelope, payload: Payload
    ) -> None:
        try:
            await plan_service.plan_registrations(
                session,
                outbox,
                [registration_input(payload)],
                source_event_id=envelope.id,
                fallback_year=envelope.occurred_at.year,
            )
        except PlanningError as exc:
            raise PermanentEventError(str(exc)) from exc

    return on_registration_accepted


async def on_edition_created(
    session: AsyncSession, envelope: EventEnvelope, payload: Payload
) -> None:
    assert isinstance(payload, EditionCreatedV1)
    await plan_service.record_edition_year(session, payload.edition_id, payload.year)


def consumers(runtime: ServiceRuntime) -> list[EventConsumer]:
    on_registration = registration_handler(runtime.outbox)
    return [
        runtime.consumer(
            durable="fieldwork-registry",
            producer="registry",
            handlers={
                "registry.edition.created.v1": on_edition_created,
                "registry.registration.accepted.v1": on_registration,
                "registry.registration.accepted.v2": on_registration,
            },
        ),
        opt_in_consumer(runtime, partner_access),
    ]
