"""Queries of registrations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Registration, Structure
from services.registry.queries import filter_structures
from services.registry.vocabulary import RegistrationStatus
from shared.pagination import after


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


async def count_accepted(session: AsyncSession, edition_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                Registration.edition_id == edition_id,
                Registration.status == RegistrationStatus.ACCEPTED.value,
            )
        )
        or 0
    )


async def first_waitlisted(session: AsyncSession, edition_id: uuid.UUID) -> Registration | None:
    """The registration waiting longest, locked (skipping one a concurrent request holds)."""
    return await session.scalar(
        select(Registration)
        .where(
            Registration.edition_id == edition_id,
            Registration.status == RegistrationStatus.WAITLISTED.value,
            Registration.stratum_code.is_not(None),
        )
        .order_by(Registration.waitlisted_at, Registration.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def list_registrations(
    session: AsyncSession,
    edition_id: uuid.UUID,
    *,
    status: str | None,
    stratum: str | None,
    structure_type: str | None,
    departement: str | None,
    region: str | None,
    certification: str | None,
    key: Sequence[Any] | None,
    limit: int,
) -> Sequence[Registration]:
    columns = (Registration.created_at, Registration.id)
    query = (
        select(Registration)
        .join(Structure, Structure.id == Registration.structure_id)
        .where(Registration.edition_id == edition_id, after(columns, key))
        .order_by(*columns)
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(Registration.status == status)
    if stratum is not None:
        query = query.where(Registration.stratum_code == stratum)
    query = filter_structures(
        query,
        departement=departement,
        region=region,
        structure_type=structure_type,
        certification=certification,
    )
    return (await session.scalars(query)).all()
