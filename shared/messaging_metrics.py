"""Gauges of a service's messaging, sampled every `metrics_interval_seconds` by each process:
the outbox's backlog and the age of its oldest unpublished row, parked rows, dead letters per
consumer, and each durable consumer's lag as JetStream reports it (messages not yet delivered,
delivered but unacked, redelivered). Counters and histograms updated as things happen live
beside their code (`consumer_messages_total`, `consumer_redeliveries_total`,
`consumer_batch_seconds`, `outbox_published_total`, `http_request_duration_seconds`...)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.consumer import EventConsumer, repeat
from shared.messaging import MessageBus
from shared.tables import MessagingTables

log = logging.getLogger(__name__)

OUTBOX_PENDING = Gauge(
    "outbox_pending_rows", "Outbox rows not yet published (parked ones excluded)", ["service"]
)
OUTBOX_OLDEST = Gauge(
    "outbox_oldest_pending_seconds",
    "Age of the oldest outbox row not yet published (0 when none)",
    ["service"],
)
OUTBOX_PARKED = Gauge("outbox_parked_rows", "Outbox rows parked after failed attempts", ["service"])
DEAD_LETTERS = Gauge("dead_letters", "Dead letters waiting for an operator", ["consumer"])
CONSUMER_PENDING = Gauge(
    "consumer_pending_messages", "Messages of the stream not yet delivered (lag)", ["consumer"]
)
CONSUMER_ACK_PENDING = Gauge(
    "consumer_ack_pending_messages", "Messages delivered and not yet acked", ["consumer"]
)
CONSUMER_REDELIVERED = Gauge(
    "consumer_redelivered_messages", "Messages redelivered and not yet acked", ["consumer"]
)
NATS_CONNECTED = Gauge("nats_connected", "1 when the process is connected to NATS", ["service"])


async def sample(
    service: str,
    session_factory: async_sessionmaker[AsyncSession],
    tables: MessagingTables,
    consumers: Sequence[EventConsumer],
    bus: MessageBus,
) -> None:
    """Update every gauge once (the database's now, JetStream's when connected)."""
    outbox, dead = tables.outbox, tables.dead_letters
    async with session_factory() as session:
        pending = (
            await session.execute(
                select(
                    func.count(),
                    func.coalesce(
                        func.extract("epoch", func.now() - func.min(outbox.c.created_at)), 0
                    ),
                ).where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
            )
        ).one()
        parked = await session.scalar(
            select(func.count()).where(
                outbox.c.parked_at.isnot(None), outbox.c.published_at.is_(None)
            )
        )
        rows = await session.execute(
            select(dead.c.consumer, func.count()).group_by(dead.c.consumer)
        )
        dead_counts: dict[str, int] = {str(r[0]): int(r[1]) for r in rows}
    OUTBOX_PENDING.labels(service).set(pending[0])
    OUTBOX_OLDEST.labels(service).set(float(pending[1]))
    OUTBOX_PARKED.labels(service).set(parked or 0)
    for consumer in consumers:
        DEAD_LETTERS.labels(consumer.durable).set(dead_counts.get(consumer.durable, 0))
    NATS_CONNECTED.labels(service).set(1 if bus.is_connected else 0)
    if not bus.is_connected:
        return
    for consumer in consumers:
        with contextlib.suppress(Exception):  # a durable not there yet: nothing to tell
            info = await bus.js.consumer_info(consumer.stream, consumer.durable)
            CONSUMER_PENDING.labels(consumer.durable).set(info.num_pending or 0)
            CONSUMER_ACK_PENDING.labels(consumer.durable).set(info.num_ack_pending or 0)
            CONSUMER_REDELIVERED.labels(consumer.durable).set(info.num_redelivered or 0)


async def sample_loop(
    service: str,
    session_factory: async_sessionmaker[AsyncSession],
    tables: MessagingTables,
    consumers: Sequence[EventConsumer],
    bus: MessageBus,
    *,
    interval: float,
) -> None:
    async def once() -> None:
        await sample(service, session_factory, tables, consumers, bus)

    await repeat(once, interval=interval, what="metrics sampling")
