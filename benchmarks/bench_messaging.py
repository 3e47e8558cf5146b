"""Messaging rows: the consumer base and the outbox relay against bare nats-py on the same run.

- `nats bare pull consumer: fetch+ack`: a nats-py pull consumer fetching batches of the
  consumer batch size and acking each message, no database: the ceiling for our consumer.
- `consumer per-event handler` / `consumer batch handler`: `EventConsumer` on the same N
  messages with a trivial handler; every batch still parses and validates each event, inserts
  the inbox rows, commits and acks. Reference: the bare consumer.
- `nats bare publish_async`: N publications pipelined, then every ack awaited.
- `outbox relay`: N committed outbox rows relayed by `OutboxRelay` rounds (claim, publish,
  mark). Reference: the bare publish_async loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.ext.asyncio import AsyncSession

from benchmarks.harness import Context, Row, rate, stopwatch
from shared.consumer import Event, EventConsumer
from shared.contracts.registry import EditionCreatedV1
from shared.db import create_engine, create_session_factory, service_metadata, transaction
from shared.events import STREAMS, EventEnvelope, Payload, new_event
from shared.messaging import MessageBus
from shared.outbox import Outbox, OutboxRelay
from shared.tables import messaging_tables
from shared.topology import ensure_consumer

PRODUCER = "registry"
STREAM = STREAMS[PRODUCER]
SUBJECT = "registry.edition.created.v1"
CONSUMER_MESSAGES = 20_000
RELAY_ROWS = 20_000


def payload(i: int) -> EditionCreatedV1:
    return EditionCreatedV1(
        edition_id=uuid.uuid4(), year=2000 + i % 100, name=f"E{i}", status="open"
    )


def envelopes(n: int) -> list[EventEnvelope]:
    return [new_event(payload(i), edition=None) for i in range(n)]


async def publish_async_all(js: JetStreamContext, events: Sequence[EventEnvelope]) -> None:
    futures = [
        await js.publish_async(
            e.subject, e.model_dump_json().encode(), headers={"Nats-Msg-Id": str(e.id)}
        )
        for e in events
    ]
    await asyncio.gather(*futures)


async def bare_consumer_rate(js: JetStreamContext, n: int, batch: int, durable: str) -> float:
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subjects=[SUBJECT],
            max_ack_pending=max(1000, 4 * batch),
        ),
    )
    subscription = await js.pull_subscribe_bind(durable=durable, stream=STREAM)
    got = 0
    async with stopwatch() as elapsed:
        while got < n:
            messages = await subscription.fetch(batch, timeout=5)
            for message in messages:
                await message.ack()
            got += len(messages)
        await js._nc.flush()
    return rate(n, elapsed())


async def consumer_rate(
    ctx: Context, database_url: str, n: int, *, batch_mode: bool, durable: str
) -> float:
    settings = ctx.settings("scoring", database_url)
    engine = create_engine(settings)
    bus = MessageBus(ctx.nats_url, name="bench-consumer")
    await bus.connect()
    settled = 0
    done = asyncio.Event()

    class Counting(EventConsumer):
        async def handle_batch(self, messages: Sequence[Msg]) -> bool:
            nonlocal settled
            reachable = await super().handle_batch(messages)
            settled += len(messages)
            if settled >= n:
                done.set()
            return reachable

    async def on_event(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
        return None

    async def on_batch(session: AsyncSession, events: Sequence[Event]) -> None:
        return None

    consumer = Counting(
        durable=durable,
        producer=PRODUCER,
        handlers=None if batch_mode else {SUBJECT: on_event},
        batch_handler=on_batch if batch_mode else None,
        subjects=[SUBJECT],
        session_factory=create_session_factory(engine),
        tables=messaging_tables(service_metadata()),
        bus=bus,
        batch_size=settings.consumer_batch_size,
    )
    try:
        await ensure_consumer(bus.js, consumer.stream, consumer.config)  # as nats setup would
        async with stopwatch() as elapsed:
            task = asyncio.create_task(consumer.run())
            await done.wait()
        consumer.stop()
        await asyncio.wait_for(task, 10)
    finally:
        await bus.close()
        await engine.dispose()
    return rate(n, elapsed())


async def relay_rate(ctx: Context, database_url: str, n: int) -> float:
    settings = ctx.settings("scoring", database_url)
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    bus = MessageBus(ctx.nats_url, name="bench-relay")
    await bus.connect()
    outbox = Outbox(messaging_tables(service_metadata()).outbox)
    try:
        for start in range(0, n, 1000):
            async with transaction(sessions) as session:
                await outbox.add_many(
                    session, [payload(i) for i in range(start, min(n, start + 1000))], edition=None
                )
        relay = OutboxRelay(
            outbox, sessions, bus, producer=PRODUCER, batch_size=settings.outbox_batch_size
        )
        relayed = 0
        async with stopwatch() as elapsed:
            while relayed < n:
                relayed += await relay.relay_once()
    finally:
        await bus.close()
        await engine.dispose()
    return rate(n, elapsed())


async def run(ctx: Context) -> list[Row]:
    database_url = await ctx.fresh_database()
    n = ctx.size(CONSUMER_MESSAGES)
    batch = ctx.settings("scoring", database_url).consumer_batch_size
    await ctx.empty_nats()  # the streams of `barometer nats setup`, empty
    nc = await nats.connect(ctx.nats_url)
    try:
        js = nc.jetstream()
        await publish_async_all(js, envelopes(n))
        bare = await ctx.median_of(lambda i: bare_consumer_rate(js, n, batch, f"bench-bare-{i}"))
    finally:
        await nc.close()
    per_event = await ctx.median_of(
        lambda i: consumer_rate(ctx, database_url, n, batch_mode=False, durable=f"bench-one-{i}")
    )
    batched = await ctx.median_of(
        lambda i: consumer_rate(ctx, database_url, n, batch_mode=True, durable=f"bench-batch-{i}")
    )

    m = ctx.size(RELAY_ROWS)
    await ctx.empty_nats()
    nc = await nats.connect(ctx.nats_url)
    try:
        js = nc.jetstream()

        async def bare_publish_rate(_: int) -> float:
            events = envelopes(m)
            async with stopwatch() as elapsed:
                await publish_async_all(js, events)
            return rate(m, elapsed())

        bare_publish = await ctx.median_of(bare_publish_rate)
    finally:
        await nc.close()
    relay = await ctx.median_of(lambda _: relay_rate(ctx, database_url, m))
    unit = "msgs/s"
    return [
        Row("nats bare pull consumer: fetch+ack", bare, unit),
        Row("consumer per-event handler (inbox, savepoint, commit, ack)", per_event, unit, bare),
        Row("consumer batch handler (inbox, commit, ack)", batched, unit, bare),
        Row("nats bare publish_async", bare_publish, unit),
        Row("outbox relay (claim, publish_async, mark)", relay, "rows/s", bare_publish),
    ]
