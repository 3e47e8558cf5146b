"""HTTP routes of registrations, their review and their quote."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.registry.common import Code
from services.registry.offers.schemas import QuoteOut
from services.registry.registrations import service
from services.registry.registrations.schemas import (
    BulkRegisteredOut,
    BulkRegistrationsIn,
    DecisionIn,
    RegistrationIn,
    RegistrationOut,
    RegistrationPatch,
)
from services.registry.vocabulary import CertificationName, RegistrationStatus, StructureType
from shared.app import RuntimeDep, SessionDep
from shared.auth import Principal, Role
from shared.auth import require as require_role
from shared.idempotency import IdempotencyDep
from shared.pagination import Page, PageDep

router = APIRouter(tags=["registrations"])
Operator = Annotated[Principal, require_role(Role.OPERATOR)]
OperatorOrStructure = Annotated[Principal, require_role(Role.OPERATOR, Role.STRUCTURE)]
BASE = "/editions/{edition_id}/registrations"
ONE = BASE + "/{registration_id}"


@router.post(BASE, status_code=201, summary="Apply (a structure for itself, or the operator)")
async def register(
    edition_id: uuid.UUID,
    body: RegistrationIn,
    session: SessionDep,
    principal: OperatorOrStructure,
    idem: IdempotencyDep,
) -> RegistrationOut:
    """Checked: the edition takes registrations (a structure until the deadline; the operator,
    selecting for a representative panel, until selection ends), the population minimum, one
    registration per structure, the sites (the principal one always) and the options the offer
    allows. The stratum is derived from the edition's rules."""
    return await idem.once(service.register(session, principal, edition_id, body), status_code=201)


@router.post(
    BASE + "/bulk",
    status_code=201,
    summary="Register (and accept) up to 1,000 structures at once (the operator's panel)",
)
async def register_many(
    edition_id: uuid.UUID,
    body: BulkRegistrationsIn,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
    idem: IdempotencyDep,
) -> BulkRegisteredOut:
    """All or nothing, under the same checks as one registration: a 422 lists each refused
    item (`index`, `structure_id`, `type`, `detail`); with `accept: true` each registration is
    also accepted and announced (`registry.registration.accepted.v2`), a 409 `cap-reached`
    when the panel does not fit the edition's cap."""

    async def work() -> BulkRegisteredOut:
        made = await service.register_many(
            session, runtime.outbox, principal, edition_id, body.items, accept=body.accept
        )
        return BulkRegisteredOut(registrations=made)

    return await idem.once(work(), status_code=201)


@router.get(BASE, summary="List an edition's registrations, oldest first")
async def list_registrations(
    edition_id: uuid.UUID,
    session: SessionDep,
    page: PageDep,
    principal: Operator,
    status: Annotated[RegistrationStatus | None, Query(description="Review status.")] = None,
    stratum: Annotated[Code | None, Query(description="Stratum code.")] = None,
    type: Annotated[StructureType | None, Query(description="Structure type.")] = None,
    departement: Annotated[str | None, Query(max_length=3, description="Département code.")] = None,
    region: Annotated[str | None, Query(max_length=3, description="Région code.")] = None,
    certification: Annotated[
        CertificationName | None, Query(description="Structures holding this certification.")
    ] = None,
) -> Page[RegistrationOut]:
    return await service.list_registrations(
        session,
        edition_id,
        page,
        status=status,
        stratum=stratum,
        structure_type=type,
        departement=departement,
        region=region,
        certification=certification,
    )


@router.get(ONE, summary="Read a registration (the operator, or its structure)")
async def get_registration(
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    session: SessionDep,
    principal: OperatorOrStructure,
) -> RegistrationOut:
    return await service.read_registration(session, principal, edition_id, registration_id)


@router.patch(ONE, summary="Adjust a registration under review (offer, sites, options)")
async def patch_registration(
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    body: RegistrationPatch,
    session: SessionDep,
    principal: Operator,
) -> RegistrationOut:
    """The operator may add lines a structure cannot choose itself (the professional audit)."""
    return await service.patch_registration(session, edition_id, registration_id, body)


@router.get(ONE + "/quote", summary="The registration's quote, exact to the cent")
async def get_quote(
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    session: SessionDep,
    principal: OperatorOrStructure,
) -> QuoteOut:
    """Amounts in euro cents excl. VAT; VAT on the total, rounded to the nearest cent (halves
    up); `total_incl_vat_cents = total_excl_vat_cents + vat_cents`."""
    return await service.quote(session, principal, edition_id, registration_id)


@router.post(ONE + "/accept", summary="Accept (publishes registry.registration.accepted.v2)")
async def accept(
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
    idem: IdempotencyDep,
    body: DecisionIn | None = None,
) -> RegistrationOut:
    """Refused with a 409 `cap-reached` when the edition's cap is met (waitlist instead)."""
    return await idem.once(
        service.accept(session, runtime.outbox, edition_id, registration_id, body or DecisionIn())
    )


@router.post(ONE + "/refuse", summary="Refuse, with a reason")
async def refuse(
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    body: DecisionIn,
    session: SessionDep,
    principal: Operator,
    idem: IdempotencyDep,
) -> RegistrationOut:
    return await idem.once(service.refuse(session, edition_id, registration_id, body))


@router.post(ONE + "/waitlist", summary="Put on the waiting list, with a reason")
async def waitlist(
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    body: DecisionIn,
    session: SessionDep,
    principal: Operator,
    idem: IdempotencyDep,
) -> RegistrationOut:
    """A waitlisted registration is accepted automatically when an accepted one withdraws."""
    return await idem.once(service.waitlist(session, edition_id, registration_id, body))


@router.post(ONE + "/withdraw", summary="Withdraw (the operator, or the structure itself)")
async def withdraw(
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    body: DecisionIn,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: OperatorOrStructure,
    idem: IdempotencyDep,
) -> RegistrationOut:
    """An accepted place freed goes to the registration waiting longest."""
    return await idem.once(
        service.withdraw(session, runtime.outbox, principal, edition_id, registration_id, body)
    )
