"""Queries of OAuth2 clients and partners' opt-ins."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Client, PartnerOptIn, Structure, access_log
from shared.access_log import record
from shared.auth import Principal


async def get_client(session: AsyncSession, client_id: str, *, lock: bool = False) -> Client | None:
    query = select(Client).where(Client.client_id == client_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def add_client(session: AsyncSession, client: Client) -> None:
    session.add(client)
    await session.flush()
    await session.refresh(client)


async def list_clients(session: AsyncSession, after_id: str | None, limit: int) -> Sequence[Client]:
    query = select(Client).order_by(Client.client_id).limit(limit)
    if after_id is not None:
        query = query.where(Client.client_id > after_id)
    return (await session.scalars(query)).all()


async def structure_exists(session: AsyncSession, structure_id: uuid.UUID) -> bool:
    return await session.get(Structure, structure_id) is not None


async def opt_ins_of(
    session: AsyncSession, structure_id: uuid.UUID, after_client: str | None, limit: int
) -> Sequence[tuple[PartnerOptIn, str]]:
    query = (
        select(PartnerOptIn, Client.name)
        .join(Client, Client.client_id == PartnerOptIn.client_id)
        .where(PartnerOptIn.structure_id == structure_id)
        .order_by(PartnerOptIn.client_id)
        .limit(limit)
    )
    if after_client is not None:
        query = query.where(PartnerOptIn.client_id > after_client)
    rows = await session.execute(query)
    return [(row[0], row[1]) for row in rows.all()]


async def add_opt_in(
    session: AsyncSession, structure_id: uuid.UUID, client_id: str, granted_by: str
) -> PartnerOptIn | None:
    """The new opt-in, or None when it was there already."""
    inserted = await session.scalar(
        insert(PartnerOptIn)
        .values(structure_id=structure_id, client_id=client_id, granted_by=granted_by)
        .on_conflict_do_nothing()
        .returning(PartnerOptIn.granted_at)
    )
    if inserted is None:
        return None
    return PartnerOptIn(
        structure_id=structure_id, client_id=client_id, granted_by=granted_by, granted_at=inserted
    )


async def get_opt_in(
    session: AsyncSession, structure_id: uuid.UUID, client_id: str
) -> PartnerOptIn | None:
    return await session.get(PartnerOptIn, (structure_id, client_id))


async def remove_opt_in(session: AsyncSession, structure_id: uuid.UUID, client_id: str) -> bool:
    removed = await session.execute(
        delete(PartnerOptIn)
        .where(PartnerOptIn.structure_id == structure_id, PartnerOptIn.client_id == client_id)
        .returning(PartnerOptIn.client_id)
    )
    return removed.first() is not None


async def now(session: AsyncSession) -> datetime:
    value = await session.scalar(select(func.clock_timestamp()))
    assert isinstance(value, datetime)
    return value


async def record_access(
    session: AsyncSession,
    principal: Principal,
    action: str,
    target: str,
    *,
    structure_id: uuid.UUID | None = None,
) -> None:
    await record(session, access_log, principal, action, target, structure_id=structure_id)
