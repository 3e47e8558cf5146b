"""Queries of structures, sites, contact points and certifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Certification, ContactPoint, Site, Structure
from services.registry.queries import children, filter_structures
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


async def add_structures(
    session: AsyncSession,
    structures: Sequence[Structure],
    certifications: Sequence[dict[str, Any]],
    sites: Sequence[dict[str, Any]],
    contacts: Sequence[dict[str, Any]],
) -> None:
    """Insert structures and their children in a few batched statements, whatever their number."""
    session.add_all(structures)
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
    return await children(
        session, Certification, Certification.structure_id, structure_ids, Certification.name
    )


async def sites_of(
    session: AsyncSession, structure_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Site]]:
    return await children(
        session, Site, Site.structure_id, structure_ids, Site.principal.desc(), Site.name, Site.id
    )


async def contacts_of(
    session: AsyncSession, site_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ContactPoint]]:
    return await children(
        session,
        ContactPoint,
        ContactPoint.site_id,
        site_ids,
        ContactPoint.position,
        ContactPoint.id,
    )


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
    query = filter_structures(
        query,
        departement=departement,
        region=region,
        structure_type=structure_type,
        certification=certification,
    )
    return (await session.scalars(query)).all()
