"""Housekeeping: published outbox rows, inbox event ids and idempotency keys are deleted once
older than their retention, in bounded batches (one short transaction each), by a periodic task
in every service (`prune_loop`) or at once with `barometer prune`.

Never a duplicate check still needed: an inbox id is the consumer's proof that an event was
applied; JetStream can deliver a copy of it for as long as the stream keeps the message
(`stream_max_age_seconds`, redeliveries included) plus the producer's retry horizon (the
duplicate window, within which the outbox may publish it again). The settings refuse an
inbox retention that does not exceed that horizon, and each service's start check compares it
with the streams it reads as the server holds them. Unpublished and parked outbox rows are
never pruned, nor dead letters (they wait for an operator)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy import Column, ColumnElement, Table, delete, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnClause

from shared.consumer import repeat
from shared.db import transaction
from shared.settings import ServiceSettings
from shared.tables import MessagingTables

log = logging.getLogger(__name__)

PRUNED = Counter("housekeeping_pruned_rows_total", "Rows deleted by housekeeping", ["table"])


@dataclass(frozen=True)
class Target:
    """Rows of `table` whose `stamp` is older than `retention_seconds` (and `only`, if set)."""

    table: Table
    stamp: Column[object]
    retention_seconds: float
    only: ColumnElement[bool] | None = None

    @property
    def name(self) -> str:
        return self.table.name


def targets(
    settings: ServiceSettings, tables: MessagingTables, idempotency: Sequence[Table] = ()
) -> list[Target]:
    outbox, inbox = tables.outbox, tables.inbox
    found = [
        Target(
            outbox,
            outbox.c.published_at,
            settings.outbox_retention_seconds,
            only=outbox.c.published_at.isnot(None),
        ),
        Target(inbox, inbox.c.processed_at, settings.inbox_retention_seconds),
    ]
    found += [
        Target(t, t.c.created_at, settings.idempotency_retention_seconds) for t in idempotency
    ]
    return found


async def prune_target(
    session_factory: async_sessionmaker[AsyncSession], target: Target, batch_size: int
) -> int:
    """Delete `target`'s expired rows, `batch_size` per transaction; returns how many."""
    t = target.table
    ctid: ColumnClause[Any] = literal_column("ctid")
    cutoff = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, target.retention_seconds)
    chosen = select(ctid).select_from(t).where(target.stamp < cutoff).limit(batch_size)
    if target.only is not None:
        chosen = chosen.where(target.only)
    statement = delete(t).where(ctid.in_(chosen.scalar_subquery()))
    total = 0
    while True:
        async with transaction(session_factory) as session:
            result = await session.execute(statement)
        deleted = int(getattr(result, "rowcount", 0) or 0)
        total += deleted
        if deleted < batch_size:
            break
    if total:
        PRUNED.labels(target.name).inc(total)
    return total


async def prune(
    session_factory: async_sessionmaker[AsyncSession], found: Sequence[Target], batch_size: int
) -> dict[str, int]:
    """One pass over every target: rows deleted per table."""
    return {
        target.name: await prune_target(session_factory, target, batch_size) for target in found
    }


async def prune_loop(
    session_factory: async_sessionmaker[AsyncSession],
    found: Sequence[Target],
    *,
    interval: float,
    batch_size: int,
) -> None:
    """Prune every `interval` seconds, for the process's life (each batch a transaction:
    cancelling it loses nothing). Several replicas may run it: they delete disjoint rows or
    find nothing left."""

    async def once() -> None:
        deleted = await prune(session_factory, found, batch_size)
        if any(deleted.values()):
            log.info("housekeeping", extra={"deleted": deleted})

    await repeat(once, interval=interval, what="housekeeping")
