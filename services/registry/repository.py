"""Queries of the registry service: every SQL statement of the domain lives here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import (
    Certification,
    Edition,
    Registration,
    Site,
    StratumRule,
    Structure,
)

# --- editions -------------------------------------------------------------------------------


async def get_edition(
    session: AsyncSession, edition_id: uuid.UUID, *, for_update: bool = False
) -> Edition | None:
    query = select(Edition).where(Edition.id == edition_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def edition_of_year(session: AsyncSession, year: int) -> Edition | None:
    return await session.scalar(select(Edition).where(Edition.year == year))


async def list_editions(session: AsyncSession, *, year: int | None) -> Sequence[Edition]:
    query = select(Edition).order_by(Edition.year.desc())
    if year is not None:
        query = query.where(Edition.year == year)
    return (await session.scalars(query)).all()


async def strata_rules(
    session: AsyncSession, edition_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[StratumRule]]:
    rows = await session.scalars(
        select(StratumRule)
        .where(StratumRule.edition_id.in_(edition_ids))
        .order_by(StratumRule.edition_id, StratumRule.position)
    )
    found: dict[uuid.UUID, list[StratumRule]] = {edition_id: [] for edition_id in edition_ids}
    for rule in rows:
        found[rule.edition_id].append(rule)
    return found


# --- structures -----------------------------------------------------------------------------


async def get_structure(session: AsyncSession, structure_id: uuid.UUID) -> Structure | None:
    return await session.get(Structure, structure_id)


async def certifications_of(session: AsyncSession, structure_id: uuid.UUID) -> list[Certification]:
    rows = await session.scalars(
        select(Certification)
        .where(Certification.structure_id == structure_id)
        .order_by(Certification.name)
    )
    return list(rows)


async def sites_of(session: AsyncSession, structure_id: uuid.UUID) -> list[Site]:
    rows = await session.scalars(
        select(Site)
        .where(Site.structure_id == structure_id)
        .order_by(Site.principal.desc(), Site.name, Site.id)
    )
    return list(rows)


# --- registrations --------------------------------------------------------------------------


async def get_registration(
    session: AsyncSession,
    edition_id: uuid.UUID,
    registration_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Registration | None:
    query = select(Registration).where(
        Registration.edition_id == edition_id, Registration.id == registration_id
    )
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def registration_of(
    session: AsyncSession, edition_id: uuid.UUID, structure_id: uuid.UUID
) -> Registration | None:
    return await session.scalar(
        select(Registration).where(
            Registration.edition_id == edition_id, Registration.structure_id == structure_id
        )
    )


async def list_registrations(
    session: AsyncSession, edition_id: uuid.UUID, *, status: str | None
) -> Sequence[Registration]:
    query = (
        select(Registration)
        .where(Registration.edition_id == edition_id)
        .order_by(Registration.created_at, Registration.id)
    )
    if status is not None:
        query = query.where(Registration.status == status)
    return (await session.scalars(query)).all()
