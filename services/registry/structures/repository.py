"""Queries of structures, sites, contact points and certifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Certification, ContactPoint, Site, Structure
from shared.pagination import after


async def get_structure(session: AsyncSession, structure_id: uuid.UUID) -> Structure | None:
    return await session.get(Structure, structure_id)


async def duplicates(
    session: AsyncSession, sirens: Sequence[str], kinds: Sequence[tuple[str, str]]
) -> Sequence[Structure]:
    """Structures holding one of the SIRENs or one of the (type, territory code) pairs."""
    conditions = []
    if sirens:
        conditions.append(Structure.siren.in_(sirens))
    if kinds:
        conditions.append(tuple_(Structure.type, Structure.territory_code).in_(kinds))
    if not conditions:
        return []
    return (await session.scalars(select(Structure).where(or_(*conditions)))).all()


async def add_structure(
    session: AsyncSession,
    structure: Structure,
    certifications: Sequence[dict[str, Any]],
    sites: Sequence[dict[str, Any]],
    contacts: Sequence[dict[str, Any]],
) -> None:
    session.add(structure)
    await session.flush()
    if certifications:
        await session.execute(insert(Certification), list(certifications))
    await add_sites(session, sites, contacts)


async def add_sites(
    session: AsyncSession, sites: Sequence[dict[str, Any]], contacts: Sequence[dict[str, Any]]
) -> None:
    if sites:
        await session.execute(insert(Site), list(sites))
    if contacts:
        await session.execute(insert(ContactPoint), list(contacts))


async def upsert_certification(session: AsyncSession, values: dict[str, Any]) -> None:
    statement = pg_insert(Certification).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Certification.structure_id, Certification.name],
            set_={
                "obtained_on": statement.excluded.obtained_on,
                "expires_on": statement.excluded.expires_on,
            },
        )
    )


async def certifications_of(
    session: AsyncSession, structure_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Certification]]:
    rows = await session.scalars(
        select(Certification)
        .where(Certification.structure_id.in_(structure_ids))
        .order_by(Certification.structure_id, Certification.name)
    )
    found: dict[uuid.UUID, list[Certification]] = {s: [] for s in structure_ids}
    for row in rows:
        found[row.structure_id].append(row)
    return found


async def sites_of(
    session: AsyncSession, structure_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Site]]:
    rows = await session.scalars(
        select(Site)
        .where(Site.structure_id.in_(structure_ids))
        .order_by(Site.structure_id, Site.principal.desc(), Site.name, Site.id)
    )
    found: dict[uuid.UUID, list[Site]] = {s: [] for s in structure_ids}
    for row in rows:
        found[row.structure_id].append(row)
    return found


async def contacts_of(
    session: AsyncSession, site_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ContactPoint]]:
    rows = await session.scalars(
        select(ContactPoint)
        .where(ContactPoint.site_id.in_(site_ids))
        .order_by(ContactPoint.site_id, ContactPoint.position, ContactPoint.id)
    )
    found: dict[uuid.UUID, list[ContactPoint]] = {s: [] for s in site_ids}
    for row in rows:
        found[row.site_id].append(row)
    return found


async def list_structures(
    session: AsyncSession,
    *,
    departement: str | None,
    region: str | None,
    structure_type: str | None,
    certification: str | None,
    key: Sequence[Any] | None,
    limit: int,
) -> Sequence[Structure]:
    columns = (Structure.name, Structure.id)
    query = select(Structure).where(after(columns, key)).order_by(*columns).limit(limit + 1)
    if departement is not None:
        query = query.where(Structure.departement_code == departement)
    if region is not None:
        query = query.where(Structure.region_code == region)
    if structure_type is not None:
        query = query.where(Structure.type == structure_type)
    if certification is not None:
        query = query.where(
            select(Certification.structure_id)
            .where(Certification.structure_id == Structure.id, Certification.name == certification)
            .exists()
        )
    return (await session.scalars(query)).all()
