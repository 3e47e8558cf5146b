"""Queries of strata: an edition's rules, counts per stratum, registrations to (re)derive."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Edition, Registration, StratumRule, Structure
from services.registry.queries import children, replace_children
from services.registry.vocabulary import RegistrationStatus

# Registrations whose stratum still matters (not refused nor withdrawn).
LIVE = (
    RegistrationStatus.PENDING.value,
    RegistrationStatus.WAITLISTED.value,
    RegistrationStatus.ACCEPTED.value,
)


async def rules(
    session: AsyncSession, edition_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[StratumRule]]:
    return await children(
        session, StratumRule, StratumRule.edition_id, edition_ids, StratumRule.position
    )


async def replace_rules(
    session: AsyncSession, edition_id: uuid.UUID, rows: Sequence[dict[str, object]]
) -> None:
    await replace_children(session, StratumRule, StratumRule.edition_id, edition_id, rows)


async def accepted_per_stratum(session: AsyncSession, edition_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(Registration.stratum_code, func.count())
        .where(
            Registration.edition_id == edition_id,
            Registration.status == RegistrationStatus.ACCEPTED.value,
            Registration.stratum_code.is_not(None),
        )
        .group_by(Registration.stratum_code)
    )
    return {code: count for code, count in rows.all() if code is not None}


async def live_registrations(
    session: AsyncSession, edition_id: uuid.UUID
) -> Sequence[Row[Registration, Structure]]:
    """Every live registration of the edition with its structure, locked for re-derivation."""
    result = await session.execute(
        select(Registration, Structure)
        .join(Structure, Structure.id == Registration.structure_id)
        .where(Registration.edition_id == edition_id, Registration.status.in_(LIVE))
        .order_by(Registration.created_at, Registration.id)
        .with_for_update(of=Registration)
    )
    return result.all()


async def set_strata(
    session: AsyncSession, changes: Sequence[tuple[uuid.UUID, str | None, str | None]]
) -> None:
    """Set (registration id, stratum code, label) in one batch."""
    if changes:
        await session.execute(
            update(Registration),
            [
                {"id": rid, "stratum_code": code, "stratum_label": label}
                for rid, code, label in changes
            ],
        )


async def set_populations(session: AsyncSession, populations: dict[uuid.UUID, int | None]) -> None:
    if populations:
        await session.execute(
            update(Structure), [{"id": sid, "population": p} for sid, p in populations.items()]
        )


async def unmatched(
    session: AsyncSession, edition_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> Sequence[Row[Structure, Registration]]:
    """Live registrations of the edition without a stratum, by structure id."""
    query = (
        select(Structure, Registration)
        .join(Registration, Structure.id == Registration.structure_id)
        .where(
            Registration.edition_id == edition_id,
            Registration.status.in_(LIVE),
            Registration.stratum_code.is_(None),
        )
        .order_by(Structure.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Structure.id > after)
    return (await session.execute(query)).all()


async def structures_with_registration(
    session: AsyncSession, edition_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> Sequence[Row[Structure, Registration | None]]:
    """Every structure of the registry by id, with its registration in the edition if any."""
    query = (
        select(Structure, Registration)
        .outerjoin(
            Registration,
            (Registration.structure_id == Structure.id) & (Registration.edition_id == edition_id),
        )
        .order_by(Structure.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(Structure.id > after)
    return (await session.execute(query)).all()


async def editions_in(session: AsyncSession, statuses: Sequence[str]) -> list[Edition]:
    """The editions in these statuses, locked (their strata are about to be derived anew)."""
    rows = await session.scalars(
        select(Edition).where(Edition.status.in_(statuses)).order_by(Edition.year).with_for_update()
    )
    return list(rows)
