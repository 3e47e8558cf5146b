"""Decisions of the registry: editions and their strata, structures, registrations.

Functions here only `flush()`; the request's session commits once, with the outbox rows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import repository as repo
from services.registry.models import (
    Certification,
    Edition,
    Registration,
    Site,
    StratumRule,
    Structure,
)
from services.registry.schemas import (
    CertificationOut,
    EditionIn,
    EditionOut,
    EditionStatus,
    Offer,
    RegistrationIn,
    RegistrationOut,
    RegistrationStatus,
    SiteOut,
    StratumOut,
    StratumRuleOut,
    StructureIn,
    StructureOut,
)
from services.registry.strata import (
    DEFAULT_RULES,
    Rule,
    StructureType,
    derive_stratum,
    is_commune_based,
)
from services.registry.territories import service as territories
from shared.auth import Principal, ensure_acts_for_structure
from shared.contracts.registry import EditionCreatedV1, RegistrationAcceptedV1, SiteRef
from shared.errors import Conflict, NotFound, Unprocessable
from shared.outbox import Outbox

# --- editions -------------------------------------------------------------------------------


def _rule_of(row: StratumRule) -> Rule:
    return Rule(
        code=row.code,
        label=row.label,
        structure_types=tuple(row.structure_types),
        min_population=row.min_population,
        max_population=row.max_population,
        position=row.position,
    )


def edition_out(edition: Edition, rules: list[StratumRule]) -> EditionOut:
    return EditionOut(
        id=edition.id,
        year=edition.year,
        name=edition.name,
        status=EditionStatus(edition.status),
        min_population=edition.min_population,
        strata=[
            StratumRuleOut(
                code=r.code,
                label=r.label,
                structure_types=list(r.structure_types),
                min_population=r.min_population,
                max_population=r.max_population,
                position=r.position,
            )
            for r in rules
        ],
    )


async def create_edition(session: AsyncSession, outbox: Outbox, body: EditionIn) -> EditionOut:
    if await repo.edition_of_year(session, body.year) is not None:
        raise Conflict(f"an edition already exists for {body.year}")
    edition = Edition(
        id=uuid.uuid4(),
        year=body.year,
        name=body.name,
        status=EditionStatus.REGISTRATION_OPEN.value,
        min_population=body.min_population,
    )
    session.add(edition)
    await session.flush()  # the edition row must exist before its rules reference it
    rules = [
        StratumRule(
            edition_id=edition.id,
            code=rule.code,
            label=rule.label,
            structure_types=[str(t) for t in rule.structure_types],
            min_population=rule.min_population,
            max_population=rule.max_population,
            position=rule.position,
        )
        for rule in DEFAULT_RULES
    ]
    session.add_all(rules)
    await session.flush()
    await outbox.add(
        session,
        EditionCreatedV1(
            edition_id=edition.id, year=edition.year, name=edition.name, status=edition.status
        ),
        edition=edition.id,
    )
    return edition_out(edition, rules)


async def find_edition(
    session: AsyncSession, edition_id: uuid.UUID, *, for_update: bool = False
) -> Edition:
    edition = await repo.get_edition(session, edition_id, for_update=for_update)
    if edition is None:
        raise NotFound(f"no edition {edition_id}")
    return edition


async def read_edition(session: AsyncSession, edition_id: uuid.UUID) -> EditionOut:
    edition = await find_edition(session, edition_id)
    rules = await repo.strata_rules(session, [edition.id])
    return edition_out(edition, rules[edition.id])


async def list_editions(session: AsyncSession, year: int | None) -> list[EditionOut]:
    editions = await repo.list_editions(session, year=year)
    rules = await repo.strata_rules(session, [e.id for e in editions])
    return [edition_out(e, rules[e.id]) for e in editions]


# --- structures -----------------------------------------------------------------------------


async def _place(session: AsyncSession, structure: Structure, body: StructureIn) -> None:
    """Fill the territory fields and the population from the one code the body gives."""
    place: territories.Place | None
    if body.type is StructureType.INTERCOMMUNALITY:
        assert body.epci_siren is not None
        place = await territories.epci(session, body.epci_siren)
        if place is None:
            raise Unprocessable(f"unknown EPCI SIREN {body.epci_siren!r}", field="epci_siren")
    elif body.type is StructureType.DEPARTEMENT:
        assert body.departement_code is not None
        place = await territories.departement(session, body.departement_code)
        if place is None:
            raise Unprocessable(
                f"unknown département code {body.departement_code!r}", field="departement_code"
            )
    elif body.type is StructureType.REGION:
        assert body.region_code is not None
        place = await territories.region(session, body.region_code)
        if place is None:
            raise Unprocessable(f"unknown région code {body.region_code!r}", field="region_code")
    else:
        assert body.commune_code is not None
        place = await territories.commune(session, body.commune_code)
        if place is None:
            raise Unprocessable(
                f"unknown commune INSEE code {body.commune_code!r}", field="commune_code"
            )
    structure.commune_code = place.commune_code
    structure.epci_siren = place.epci_siren
    structure.departement_code = place.departement_code
    structure.region_code = place.region_code
    structure.population = place.population


def structure_out(
    structure: Structure, certifications: list[Certification], sites: list[Site]
) -> StructureOut:
    return StructureOut(
        id=structure.id,
        name=structure.name,
        type=StructureType(structure.type),
        commune_code=structure.commune_code,
        epci_siren=structure.epci_siren,
        departement_code=structure.departement_code,
        region_code=structure.region_code,
        population=structure.population,
        certifications=[
            CertificationOut(name=c.name, obtained_on=c.obtained_on) for c in certifications
        ],
        sites=[SiteOut(id=s.id, name=s.name, principal=s.principal) for s in sites],
    )


async def create_structure(session: AsyncSession, body: StructureIn) -> StructureOut:
    structure = Structure(id=uuid.uuid4(), name=body.name, type=body.type.value)
    await _place(session, structure, body)
    session.add(structure)
    await session.flush()
    certifications = [
        Certification(structure_id=structure.id, name=c.name.value, obtained_on=c.obtained_on)
        for c in sorted(body.certifications, key=lambda c: c.name.value)
    ]
    sites = [Site(id=uuid.uuid4(), structure_id=structure.id, name=body.name, principal=True)]
    session.add_all([*certifications, *sites])
    await session.flush()
    return structure_out(structure, certifications, sites)


async def find_structure(session: AsyncSession, structure_id: uuid.UUID) -> Structure:
    structure = await repo.get_structure(session, structure_id)
    if structure is None:
        raise NotFound(f"no structure {structure_id}")
    return structure


async def read_structure(session: AsyncSession, structure_id: uuid.UUID) -> StructureOut:
    structure = await find_structure(session, structure_id)
    return structure_out(
        structure,
        await repo.certifications_of(session, structure.id),
        await repo.sites_of(session, structure.id),
    )


# --- registrations --------------------------------------------------------------------------


def registration_out(registration: Registration) -> RegistrationOut:
    return RegistrationOut(
        id=registration.id,
        edition_id=registration.edition_id,
        structure_id=registration.structure_id,
        status=RegistrationStatus(registration.status),
        offer=Offer(registration.offer),
        stratum=StratumOut(code=registration.stratum_code, label=registration.stratum_label),
        refusal_reason=registration.refusal_reason,
    )


async def register(
    session: AsyncSession, principal: Principal, edition_id: uuid.UUID, body: RegistrationIn
) -> RegistrationOut:
    ensure_acts_for_structure(principal, body.structure_id)
    # Locking the edition serialises registrations against a status change.
    edition = await find_edition(session, edition_id, for_update=True)
    structure = await repo.get_structure(session, body.structure_id)
    if structure is None:
        raise Unprocessable(f"unknown structure {body.structure_id}", field="structure_id")
    if edition.status != EditionStatus.REGISTRATION_OPEN:
        raise Unprocessable(
            f"edition {edition.year} does not take registrations (status {edition.status})"
        )
    if await repo.registration_of(session, edition.id, structure.id) is not None:
        raise Conflict(f"structure {structure.id} is already registered in edition {edition.year}")
    if is_commune_based(structure.type):
        if structure.population is None:
            raise Unprocessable(
                f"commune {structure.commune_code} has no legal population: "
                f"the structure cannot be checked against the minimum of {edition.min_population}"
            )
        if structure.population < edition.min_population:
            raise Unprocessable(
                f"not eligible: commune {structure.commune_code} has {structure.population} "
                f"inhabitants, edition {edition.year} requires at least {edition.min_population}"
            )
    rules = (await repo.strata_rules(session, [edition.id]))[edition.id]
    rule = derive_stratum([_rule_of(r) for r in rules], structure.type, structure.population)
    if rule is None:
        raise Unprocessable(
            f"no stratum of edition {edition.year} fits a {structure.type} "
            f"of population {structure.population}"
        )
    registration = Registration(
        id=uuid.uuid4(),
        edition_id=edition.id,
        structure_id=structure.id,
        offer=body.offer.value,
        status=RegistrationStatus.PENDING.value,
        stratum_code=rule.code,
        stratum_label=rule.label,
    )
    session.add(registration)
    await session.flush()
    return registration_out(registration)


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
    session: AsyncSession, edition_id: uuid.UUID, status: RegistrationStatus | None
) -> list[RegistrationOut]:
    await find_edition(session, edition_id)
    rows = await repo.list_registrations(
        session, edition_id, status=status.value if status else None
    )
    return [registration_out(r) for r in rows]


async def _decide(
    session: AsyncSession, edition_id: uuid.UUID, registration_id: uuid.UUID
) -> Registration:
    registration = await find_registration(session, edition_id, registration_id, for_update=True)
    if registration.status != RegistrationStatus.PENDING:
        raise Conflict(f"registration {registration_id} is already {registration.status}")
    return registration


async def accept(
    session: AsyncSession, outbox: Outbox, edition_id: uuid.UUID, registration_id: uuid.UUID
) -> RegistrationOut:
    registration = await _decide(session, edition_id, registration_id)
    structure = await find_structure(session, registration.structure_id)
    certifications = await repo.certifications_of(session, structure.id)
    sites = await repo.sites_of(session, structure.id)
    registration.status = RegistrationStatus.ACCEPTED.value
    registration.decided_at = datetime.now(UTC)
    await session.flush()
    await outbox.add(
        session,
        RegistrationAcceptedV1(
            registration_id=registration.id,
            edition_id=registration.edition_id,
            structure_id=structure.id,
            structure_type=structure.type,
            commune_code=structure.commune_code,
            population=structure.population,
            stratum_code=registration.stratum_code,
            stratum_label=registration.stratum_label,
            certified=bool(certifications),
            offer=registration.offer,
            sites=[SiteRef(site_id=s.id, name=s.name, principal=s.principal) for s in sites],
        ),
        edition=registration.edition_id,
    )
    return registration_out(registration)


async def refuse(
    session: AsyncSession, edition_id: uuid.UUID, registration_id: uuid.UUID, reason: str
) -> RegistrationOut:
    registration = await _decide(session, edition_id, registration_id)
    registration.status = RegistrationStatus.REFUSED.value
    registration.refusal_reason = reason
    registration.decided_at = datetime.now(UTC)
    await session.flush()
    return registration_out(registration)
