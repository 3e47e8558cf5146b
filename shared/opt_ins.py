"""Partners' reach, as the services that serve a structure's data to partners see it: a local
copy of the registry's opt-ins (`registry.partner_opt_in.changed.v1`), so a partner's access is
checked without calling the registry.

A partner reaches a structure's data when its token holds the route's scope *and* the
structure opted in to the partner's client id; anything else about another structure is a 404.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, Column, DateTime, MetaData, Table, Text, Uuid, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import ServiceRuntime
from shared.auth import Principal, Role
from shared.consumer import EventConsumer
from shared.contracts.registry import PartnerOptInChangedV1
from shared.errors import NotFound
from shared.events import EventEnvelope, Payload

SUBJECT = "registry.partner_opt_in.changed.v1"


def partner_access_table(metadata: MetaData) -> Table:
    return Table(
        "partner_access",
        metadata,
        Column("structure_id", Uuid, primary_key=True),
        Column("client_id", Text, primary_key=True),
        Column("opted_in", Boolean, nullable=False),
        Column("changed_at", DateTime(timezone=True), nullable=False),
    )


async def apply_change(session: AsyncSession, table: Table, change: PartnerOptInChangedV1) -> None:
    """Idempotent and order-proof: the newest change per pair wins."""
    statement = insert(table).values(
        structure_id=change.structure_id,
        client_id=change.client_id,
        opted_in=change.opted_in,
        changed_at=change.changed_at,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.structure_id, table.c.client_id],
            set_={
                "opted_in": statement.excluded.opted_in,
                "changed_at": statement.excluded.changed_at,
            },
            where=table.c.changed_at < statement.excluded.changed_at,
        )
    )


async def opted_in(
    session: AsyncSession, table: Table, structure_id: uuid.UUID, client_id: str
) -> bool:
    found = await session.scalar(
        select(table.c.opted_in).where(
            table.c.structure_id == structure_id, table.c.client_id == client_id
        )
    )
    return bool(found)


async def ensure_partner_reaches(
    session: AsyncSession, table: Table, principal: Principal, structure_id: uuid.UUID
) -> None:
    """For a partner caller: 404 unless the structure opted in to it (other roles: no-op)."""
    if principal.role is not Role.PARTNER:
        return
    if not await opted_in(session, table, structure_id, principal.subject):
        raise NotFound(f"no structure {structure_id} for this partner")


def opt_in_consumer(runtime: ServiceRuntime, table: Table) -> EventConsumer:
    """The durable `<service>-opt-ins` consumer keeping `table` up to date."""

    async def handle(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
        assert isinstance(payload, PartnerOptInChangedV1)
        await apply_change(session, table, payload)

    return runtime.consumer(
        durable=f"{runtime.settings.service_name}-opt-ins",
        producer="registry",
        handlers={SUBJECT: handle},
    )
