"""Decisions on registrations: applying (eligibility, sites, offer and options), the review
(accept, refuse, waitlist, withdraw), the cap and its waiting list, the accepted event, quotes.

Functions here only `flush()`; the request's session commits once, with the outbox rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.editions import service as editions
from services.registry.models import Edition, Registration, Structure
from services.registry.offers import service as offers
from services.registry.offers.rules import choice_problems
from services.registry.offers.schemas import QuoteOut
from services.registry.registrations import repository as repo
from services.registry.registrations.rules import (
    Candidate,
    Eligibility,
    eligibility_problem,
    has_room,
    move_problem,
)
from services.registry.registrations.schemas import (
    DecisionIn,
    RegistrationIn,
    RegistrationOut,
    RegistrationPatch,
    StratumOut,
)
from services.registry.strata import service as strata
from services.registry.structures import service as structures
from services.registry.structures.rules import certified_on, fieldwork_reference_day
from services.registry.vocabulary import (
    CertificationName,
    EditionStatus,
    RegistrationStatus,
    StructureType,
)
from shared.auth import Principal, Role, ensure_acts_for_structure
from shared.contracts.registry import (
    ChannelQuotaV2,
    ChannelWindowV2,
    ContactPointV2,
    RegistrationAcceptedV2,
    RegistrationWithdrawnV1,
    SiteV2,
)
from shared.errors import Conflict, NotFound, ProblemError, Unprocessable
from shared.outbox import Outbox
from shared.pagination import Page, PageParams, paginate

R = RegistrationStatus
# A place may be given while the panel is being formed and during fieldwork (a promotion).
DECIDING = frozenset(
    {EditionStatus.REGISTRATION_OPEN, EditionStatus.REGISTRATION_CLOSED, EditionStatus.FIELDWORK}
)


class NotEligible(Unprocessable):
    slug = "not-eligible"
    title = "The structure may not register"


class CapReached(Conflict):
    slug = "cap-reached"
    title = "The edition has no place left"


def today() -> date:
    return datetime.now(UTC).date()


def registration_out(r: Registration) -> RegistrationOut:
    return RegistrationOut(
        id=r.id,
        edition_id=r.edition_id,
        structure_id=r.structure_id,
        status=RegistrationStatus(r.status),
        offer=r.offer,
        options=list(r.options),
        site_ids=list(r.site_ids),
        competes_for_trophies=r.competes_for_trophies,
        applied_by=r.applied_by,
        stratum=StratumOut(code=r.stratum_code, label=r.stratum_label or r.stratum_code)
        if r.stratum_code
        else None,
        decision_reason=r.decision_reason,
        created_at=r.created_at,
        decided_at=r.decided_at,
    )


async def _check_choice(
    session: AsyncSession,
    edition: Edition,
    structure: Structure,
    offer: str,
    options: Sequence[str],
    site_ids: Sequence[uuid.UUID] | None,
    *,
    by_operator: bool,
) -> list[uuid.UUID]:
    """The sites to audit (principal first), after checking them and the offer's options."""
    sites = await structures.sites_of(session, structure.id)
    principal = next((s for s in sites if s.principal), None)
    if principal is None:
        raise Unprocessable(f"structure {structure.id} has no principal site", field="site_ids")
    chosen = [principal.id] if site_ids is None else list(site_ids)
    own = {s.id for s in sites}
    for i, site_id in enumerate(chosen):
        if site_id not in own:
            raise Unprocessable(
                f"site {site_id} is not a site of this structure", field=f"site_ids[{i}]"
            )
    if principal.id not in chosen:
        raise Unprocessable("the principal site is always audited: include it", field="site_ids")
    chosen = [principal.id, *(s for s in chosen if s != principal.id)]
    catalogue = await offers.catalogue(session, edition.id)
    problems = choice_problems(catalogue, offer, options, len(chosen), by_operator=by_operator)
    if problems:
        field, message = problems[0]
        raise Unprocessable(message, field=field)
    return chosen


async def register(
    session: AsyncSession, principal: Principal, edition_id: uuid.UUID, body: RegistrationIn
) -> RegistrationOut:
    ensure_acts_for_structure(principal, body.structure_id)
    # Locking the edition serialises registrations against a status change.
    edition = await editions.find_edition(session, edition_id, for_update=True)
    registration = await _new_registration(session, principal, edition, body)
    await session.flush()
    await session.refresh(registration, ["created_at"])
    return registration_out(registration)


async def _new_registration(
    session: AsyncSession, principal: Principal, edition: Edition, body: RegistrationIn
) -> Registration:
    """A checked registration added to the session (eligibility, one per structure, sites,
    offer and options, stratum), or the problem that forbids it."""
    by_operator = principal.role is Role.OPERATOR
    structure = await structures.get_structure(session, body.structure_id)
    if structure is None:
        raise Unprocessable(f"unknown structure {body.structure_id}", field="structure_id")
    problem = eligibility_problem(
        Eligibility(
            status=EditionStatus(edition.status),
            registration_deadline=edition.registration_deadline,
            min_population=edition.min_population,
            min_intercommunality_population=edition.min_intercommunality_population,
        ),
        Candidate(structure.type, structure.population, structure.commune_code),
        today=today(),
        by_operator=by_operator,
    )
    if problem is not None:
        raise NotEligible(problem[1], reason=problem[0])
    if await repo.registration_of(session, edition.id, structure.id) is not None:
        raise Conflict(f"structure {structure.id} is already registered in edition {edition.year}")
    site_ids = await _check_choice(
        session,
        edition,
        structure,
        body.offer,
        body.options,
        body.site_ids,
        by_operator=by_operator,
    )
    rule = await strata.stratum_for(session, edition.id, structure.type, structure.population)
    registration = Registration(
        id=uuid.uuid4(),
        edition_id=edition.id,
        structure_id=structure.id,
        offer=body.offer,
        options=list(body.options),
        site_ids=site_ids,
        competes_for_trophies=body.competes_for_trophies,
        applied_by=principal.role.value,
        status=R.PENDING.value,
        stratum_code=rule.code if rule else None,
        stratum_label=rule.label if rule else None,
    )
    session.add(registration)
    return registration


async def register_many(
    session: AsyncSession,
    outbox: Outbox,
    principal: Principal,
    edition_id: uuid.UUID,
    items: Sequence[RegistrationIn],
    *,
    accept: bool,
) -> list[RegistrationOut]:
    """The operator's panel at once, in one transaction under one lock of the edition, all or
    nothing: every registration is checked as one by one (a 422 lists each refused item with
    its index, type and reason); with `accept`, each is accepted (cap checked for the whole
    panel) and announced like a single acceptance."""
    edition = await editions.find_edition(session, edition_id, for_update=True)
    if len({i.structure_id for i in items}) != len(items):
        raise Unprocessable("a structure is registered twice in this request", field="items")
    made: list[Registration] = []
    refused: list[dict[str, object]] = []
    for index, item in enumerate(items):
        try:
            made.append(await _new_registration(session, principal, edition, item))
        except ProblemError as exc:
            refused.append({"index": index, "structure_id": str(item.structure_id),
                            "type": exc.slug, "detail": exc.detail, **exc.extensions})  # fmt: skip
    if refused:
        raise Unprocessable(
            f"{len(refused)} of {len(items)} registrations refused: nothing was registered",
            items=refused,
        )
    now = datetime.now(UTC)  # one instant for the panel (no read-back per row)
    for registration in made:
        registration.created_at = now
    await session.flush()
    if accept:
        if edition.max_accepted is not None and not has_room(
            await repo.count_accepted(session, edition.id) + len(made) - 1, edition.max_accepted
        ):
            raise CapReached(
                f"edition {edition.year} accepts {edition.max_accepted} participants: "
                f"{len(made)} more do not fit"
            )
        for registration in made:
            await _accept(session, outbox, edition, registration)
    return [registration_out(r) for r in made]


async def find_registration(
    session: AsyncSession,
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Registration:
    registration = await repo.get_registration(
        session, edition_id, registration_id, for_update=for_update
    )
    if registration is None:
        raise NotFound(f"no registration {registration_id} in edition {edition_id}")
    return registration


async def read_registration(
    session: AsyncSession, principal: Principal, edition_id: uuid.UUID, registration_id: uuid.UUID
) -> RegistrationOut:
    registration = await find_registration(session, edition_id, registration_id)
    ensure_acts_for_structure(principal, registration.structure_id)
    return registration_out(registration)


async def list_registrations(
    session: AsyncSession,
    edition_id: uuid.UUID,
    page: PageParams,
    *,
    status: RegistrationStatus | None,
    stratum: str | None,
    structure_type: StructureType | None,
    departement: str | None,
    region: str | None,
    certification: CertificationName | None,
) -> Page[RegistrationOut]:
    await editions.find_edition(session, edition_id)
    rows = await repo.list_registrations(
        session,
        edition_id,
        status=status.value if status else None,
        stratum=stratum,
        structure_type=structure_type.value if structure_type else None,
        departement=departement,
        region=region,
        certification=certification.value if certification else None,
        key=page.key(2),
        limit=page.limit,
    )
    chosen, cursor = paginate(rows, page.limit, lambda r: (r.created_at, r.id))
    return Page(items=[registration_out(r) for r in chosen], next_cursor=cursor)


async def patch_registration(
    session: AsyncSession,
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    body: RegistrationPatch,
) -> RegistrationOut:
    edition = await editions.find_edition(session, edition_id, for_update=True)
    registration = await find_registration(session, edition_id, registration_id, for_update=True)
    if registration.status not in (R.PENDING, R.WAITLISTED):
        raise Conflict(f"a {registration.status} registration is no longer changed")
    structure = await structures.find_structure(session, registration.structure_id)
    given = body.model_fields_set
    offer = body.offer if "offer" in given and body.offer else registration.offer
    options = (
        body.options if "options" in given and body.options is not None else registration.options
    )
    wanted_sites = (
        body.site_ids
        if "site_ids" in given and body.site_ids is not None
        else registration.site_ids
    )
    registration.site_ids = await _check_choice(
        session, edition, structure, offer, options, wanted_sites, by_operator=True
    )
    registration.offer = offer
    registration.options = list(options)
    if body.competes_for_trophies is not None:
        registration.competes_for_trophies = body.competes_for_trophies
    await session.flush()
    return registration_out(registration)


# --- review -----------------------------------------------------------------------------------


async def _move(
    session: AsyncSession, edition_id: uuid.UUID, registration_id: uuid.UUID, to: RegistrationStatus
) -> tuple[Edition, Registration]:
    # The edition first: one decision at a time per edition keeps the cap exact.
    edition = await editions.find_edition(session, edition_id, for_update=True)
    registration = await find_registration(session, edition_id, registration_id, for_update=True)
    problem = move_problem(RegistrationStatus(registration.status), to)
    if problem is not None:
        raise Conflict(problem)
    return edition, registration


def _need_reason(body: DecisionIn, what: str) -> str:
    if body.reason is None:
        raise Unprocessable(f"a reason is required to {what} a registration", field="reason")
    return body.reason


async def _accept(
    session: AsyncSession, outbox: Outbox, edition: Edition, registration: Registration
) -> None:
    if EditionStatus(edition.status) not in DECIDING:
        raise Conflict(f"edition {edition.year} does not take decisions (status {edition.status})")
    if registration.stratum_code is None:
        raise Unprocessable(
            "no stratum rule of the edition matches this structure: fix the rules first",
            field="stratum",
        )
    if not has_room(await repo.count_accepted(session, edition.id), edition.max_accepted):
        raise CapReached(
            f"edition {edition.year} has accepted its {edition.max_accepted} participants; "
            "waitlist the registration instead"
        )
    registration.status = R.ACCEPTED.value
    registration.decided_at = datetime.now(UTC)
    await session.flush()
    await outbox.add(
        session, await accepted_event(session, edition, registration), edition=edition.id
    )


async def accept(
    session: AsyncSession,
    outbox: Outbox,
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    body: DecisionIn,
) -> RegistrationOut:
    edition, registration = await _move(session, edition_id, registration_id, R.ACCEPTED)
    registration.decision_reason = body.reason
    await _accept(session, outbox, edition, registration)
    return registration_out(registration)


async def _set_aside(
    session: AsyncSession,
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    to: RegistrationStatus,
    body: DecisionIn,
) -> RegistrationOut:
    """Refuse or waitlist, with the reason the operator gives."""
    reason = _need_reason(body, "refuse" if to is R.REFUSED else "waitlist")
    _, registration = await _move(session, edition_id, registration_id, to)
    registration.status = to.value
    registration.decision_reason = reason
    registration.decided_at = datetime.now(UTC)
    if to is R.WAITLISTED:
        registration.waitlisted_at = registration.decided_at
    await session.flush()
    return registration_out(registration)


async def refuse(
    session: AsyncSession, edition_id: uuid.UUID, registration_id: uuid.UUID, body: DecisionIn
) -> RegistrationOut:
    return await _set_aside(session, edition_id, registration_id, R.REFUSED, body)


async def waitlist(
    session: AsyncSession, edition_id: uuid.UUID, registration_id: uuid.UUID, body: DecisionIn
) -> RegistrationOut:
    return await _set_aside(session, edition_id, registration_id, R.WAITLISTED, body)


async def withdraw(
    session: AsyncSession,
    outbox: Outbox,
    principal: Principal,
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    body: DecisionIn,
) -> RegistrationOut:
    """The operator, or the structure itself, withdraws; an accepted place goes to the
    registration waiting longest, if any."""
    reason = _need_reason(body, "withdraw")
    found = await find_registration(session, edition_id, registration_id)
    ensure_acts_for_structure(principal, found.structure_id)
    edition, registration = await _move(session, edition_id, registration_id, R.WITHDRAWN)
    was_accepted = registration.status == R.ACCEPTED
    registration.status = R.WITHDRAWN.value
    registration.decision_reason = reason
    registration.decided_at = datetime.now(UTC)
    await session.flush()
    if was_accepted:
        await outbox.add(
            session,
            RegistrationWithdrawnV1(
                edition_id=edition.id,
                registration_id=registration.id,
                structure_id=registration.structure_id,
                reason=reason,
            ),
            edition=edition.id,
        )
        await _promote(session, outbox, edition)
    return registration_out(registration)


async def _promote(session: AsyncSession, outbox: Outbox, edition: Edition) -> None:
    if EditionStatus(edition.status) not in DECIDING:
        return
    if not has_room(await repo.count_accepted(session, edition.id), edition.max_accepted):
        return
    waiting = await repo.first_waitlisted(session, edition.id)
    if waiting is not None:
        waiting.decision_reason = "promoted from the waiting list: a place freed"
        await _accept(session, outbox, edition, waiting)


# --- the accepted event and the quote ---------------------------------------------------------


async def accepted_event(
    session: AsyncSession, edition: Edition, registration: Registration
) -> RegistrationAcceptedV2:
    structure = await structures.find_structure(session, registration.structure_id)
    config = await editions.config_of(session, edition)
    held = await structures.held_certifications(session, structure.id)
    day = fieldwork_reference_day((w.starts_on for w in config.calendar.windows), today())
    valid = certified_on(held, day)
    sites = {s.id: s for s in await structures.sites_of(session, structure.id)}
    assert registration.stratum_code is not None
    return RegistrationAcceptedV2(
        registration_id=registration.id,
        edition_id=edition.id,
        edition_year=edition.year,
        structure_id=structure.id,
        structure_name=structure.name,
        structure_type=structure.type,
        commune_code=structure.commune_code,
        departement_code=structure.departement_code,
        region_code=structure.region_code,
        population=structure.population,
        stratum_code=registration.stratum_code,
        stratum_label=registration.stratum_label or registration.stratum_code,
        certified=bool(valid),
        certifications=valid,
        offer=registration.offer,
        options=list(registration.options),
        competes_for_trophies=registration.competes_for_trophies,
        sites=[
            SiteV2(
                site_id=site.id,
                name=site.name,
                principal=site.principal,
                commune_code=site.commune_code,
                departement_code=site.departement_code,
                contacts=[ContactPointV2(channel=c, value=v) for c, v in site.contacts],
            )
            for site in (sites[i] for i in registration.site_ids if i in sites)
        ],
        windows=[
            ChannelWindowV2(channel=w.channel, starts_on=w.starts_on, ends_on=w.ends_on)
            for w in config.calendar.windows
        ],
        quotas=[
            ChannelQuotaV2(
                channel=q.channel,
                audits_per_site=q.audits_per_site,
                requires_option=q.requires_option,
            )
            for q in config.quotas
        ],
    )


async def quote(
    session: AsyncSession, principal: Principal, edition_id: uuid.UUID, registration_id: uuid.UUID
) -> QuoteOut:
    registration = await find_registration(session, edition_id, registration_id)
    ensure_acts_for_structure(principal, registration.structure_id)
    edition = await editions.find_edition(session, edition_id)
    return await offers.quote_of(
        session,
        edition.id,
        edition.vat_rate,
        registration.offer,
        registration.options,
        len(registration.site_ids),
    )
