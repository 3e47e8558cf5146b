"""The consumer base: idempotent effects, retries of transient failures, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo
from nats.js.errors import NotFoundError
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer import EventConsumer, EventHandler
from shared.contracts.registry import EditionCreatedV1
from shared.events import EventEnvelope, Payload, new_event
from shared.topology import ensure_consumer
from tests.helpers import eventually
from tests.shared.conftest import Plumbing

SUBJECT = "registry.edition.created.v1"


async def make_effects_table(p: Plumbing) -> None:
    async with p.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE effects (event_id uuid, year int)"))


async def count_effects(p: Plumbing) -> int:
    async with p.sessions() as session:
        return int(await session.scalar(text("SELECT count(*) FROM effects")) or 0)


async def record_effect(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
    """Deliberately not idempotent on its own: the inbox must make it so."""
    assert isinstance(payload, EditionCreatedV1)
    await session.execute(
        text("INSERT INTO effects VALUES (:id, :year)"), {"id": envelope.id, "year": payload.year}
    )


def consumer_for(p: Plumbing, handler: EventHandler, **options: Any) -> EventConsumer:
    return EventConsumer(
        durable=f"test-{uuid.uuid4().hex[:8]}",
        producer="registry",
        handlers={SUBJECT: handler},
        session_factory=p.sessions,
        tables=p.tables,
        bus=p.bus,
        nak_delay=0.1,
        fetch_timeout=0.2,
        **options,
    )


async def publish(js: JetStreamContext, data: bytes, msg_id: str | None = None) -> None:
    await js.publish(SUBJECT, data, headers={"Nats-Msg-Id": msg_id or uuid.uuid4().hex})


async def with_consumer(
    consumer: EventConsumer, body: Callable[[JetStreamContext], Awaitable[None]], nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_consumer(js, consumer.stream, consumer.config)
    task = asyncio.create_task(consumer.run())
    try:
        await body(js)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await nc.close()


async def no_pending(js: JetStreamContext, consumer: EventConsumer) -> bool:
    try:
        info: ConsumerInfo = await js.consumer_info(consumer.stream, consumer.durable)
    except NotFoundError:  # the consumer task has not created it yet
        return False
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_a_redelivered_event_changes_nothing(plumbing: Plumbing, nats_url: str) -> None:
    await make_effects_table(plumbing)
    consumer = consumer_for(plumbing, record_effect)
    event = new_event(
        EditionCreatedV1(edition_id=uuid.uuid4(), year=2030, name="E", status="draft"), edition=None
    )

    async def body(js: JetStreamContext) -> None:
        # The same event twice under different message ids: JetStream keeps both, as after
        # a redelivery beyond its de-duplication window.
        await publish(js, event.model_dump_json().encode())
        await publish(js, event.model_dump_json().encode())
        await eventually(lambda: no_pending(js, consumer))

    await with_consumer(consumer, body, nats_url)
    assert await count_effects(plumbing) == 1
    async with plumbing.sessions() as session:
        inbox = await session.scalar(select(func.count()).select_from(plumbing.tables.inbox))
    assert inbox == 1


async def test_transient_failure_is_retried_then_applied_once(
    plumbing: Plumbing, nats_url: str
) -> None:
    await make_effects_table(plumbing)
    attempts = []

    async def flaky(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
        attempts.append(envelope.id)
        await record_effect(session, envelope, payload)
        if len(attempts) == 1:
            raise ConnectionError("database hiccup")  # after the write: it must roll back

    consumer = consumer_for(plumbing, flaky)
    event = new_event(
        EditionCreatedV1(edition_id=uuid.uuid4(), year=2031, name="E", status="draft"), edition=None
    )

    async def body(js: JetStreamContext) -> None:
        await publish(js, event.model_dump_json().encode())
        await eventually(lambda: no_pending(js, consumer))

    await with_consumer(consumer, body, nats_url)
    assert len(attempts) == 2
    assert await count_effects(plumbing) == 1


async def test_poison_message_is_dead_lettered_not_retried(
    plumbing: Plumbing, nats_url: str
) -> None:
    await make_effects_table(plumbing)
    consumer = consumer_for(plumbing, record_effect)
    good = new_event(
        EditionCreatedV1(edition_id=uuid.uuid4(), year=2032, name="E", status="draft"), edition=None
    )

    async def body(js: JetStreamContext) -> None:
        await publish(js, b"{not json")
        await publish(js, good.model_dump_json().encode())
        await eventually(lambda: no_pending(js, consumer))
        await asyncio.sleep(0.5)  # a nak'ed message would be redelivered by now
        info = await js.consumer_info(consumer.stream, consumer.durable)
        assert info.num_redelivered == 0

    await with_consumer(consumer, body, nats_url)
    assert await count_effects(plumbing) == 1
    async with plumbing.sessions() as session:
        rows = (await session.execute(select(plumbing.tables.dead_letters))).all()
    assert len(rows) == 1
    assert rows[0].data == b"{not json"
    assert "malformed envelope" in rows[0].reason


async def test_handler_that_keeps_failing_ends_in_dead_letters(
    plumbing: Plumbing, nats_url: str
) -> None:
    calls = []

    async def broken(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
        calls.append(1)
        raise RuntimeError("bug")

    consumer = consumer_for(plumbing, broken, max_deliveries=3)
    event = new_event(
        EditionCreatedV1(edition_id=uuid.uuid4(), year=2033, name="E", status="draft"), edition=None
    )

    async def body(js: JetStreamContext) -> None:
        await publish(js, event.model_dump_json().encode())
        await eventually(lambda: no_pending(js, consumer))

    await with_consumer(consumer, body, nats_url)
    assert len(calls) == 3
    async with plumbing.sessions() as session:
        reasons = list(await session.scalars(select(plumbing.tables.dead_letters.c.reason)))
    assert len(reasons) == 1
    assert "failed 3 times" in reasons[0]


async def test_unknown_event_version_is_refused(plumbing: Plumbing, nats_url: str) -> None:
    await make_effects_table(plumbing)
    consumer = consumer_for(plumbing, record_effect)
    future = new_event(
        EditionCreatedV1(edition_id=uuid.uuid4(), year=2034, name="E", status="draft"), edition=None
    ).model_copy(update={"schema_version": 9})

    async def body(js: JetStreamContext) -> None:
        # Published on the v1 subject the consumer filters, but the envelope says v9.
        await publish(js, future.model_dump_json().encode())
        await eventually(lambda: no_pending(js, consumer))

    await with_consumer(consumer, body, nats_url)
    assert await count_effects(plumbing) == 0
    async with plumbing.sessions() as session:
        reasons = list(await session.scalars(select(plumbing.tables.dead_letters.c.reason)))
    assert reasons == ["unknown event type or version: registry.edition.created.v9"]
