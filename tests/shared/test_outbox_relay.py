"""The relay's rounds: parking a row JetStream refuses, two relays side by side, and the wake-up
after every committed outbox write (a consumer's included, another process's included)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer import Event, EventConsumer
from shared.contracts.registry import EditionCreatedV1
from shared.db import transaction
from shared.outbox import Outbox, OutboxRelay, ParkedRow, parked_rows, replay_parked
from tests.helpers import eventually
from tests.shared.conftest import Plumbing
from tests.shared.test_consumer import publish
from tests.shared.test_consumer_batches import edition_event, jetstream, running
from tests.shared.test_outbox import edition_created, stream_ids


async def add_events(p: Plumbing, outbox: Outbox, years: Sequence[int]) -> list[uuid.UUID]:
    async with transaction(p.sessions) as session:
        envelopes = await outbox.add_many(
            session, [edition_created(year) for year in years], edition=None
        )
    return [e.id for e in envelopes]


async def unpublished(p: Plumbing) -> int:
    t = p.tables.outbox
    async with p.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(t).where(t.c.published_at.is_(None))
        )
    return int(count or 0)


async def test_a_row_jetstream_refuses_is_parked_without_blocking_the_others_then_replayed(
    plumbing: Plumbing, nats_url: str
) -> None:
    outbox = Outbox(plumbing.tables.outbox)
    stray = edition_event(2050)
    async with transaction(plumbing.sessions) as session:
        # First in line, on a subject no stream captures: JetStream answers "no stream".
        await session.execute(
            insert(plumbing.tables.outbox).values(
                event_id=stray.id, subject="nowhere.edition.created.v1", envelope={}
            )
        )
    good = await add_events(plumbing, outbox, [2051, 2052, 2053])
    relay = OutboxRelay(
        outbox,
        plumbing.sessions,
        plumbing.bus,
        producer="registry",
        publish_timeout=1,
        max_attempts=2,
        retry_delay=0.2,
    )
    assert await relay.relay_once() == 3  # the rows behind it went out in the same round
    assert await stream_ids(nats_url) == [str(i) for i in good]
    assert await relay.relay_once() == 0  # its retry waits a delay: nothing tried
    await asyncio.sleep(0.3)
    assert await relay.relay_once() == 0  # second failure: parked
    async with plumbing.sessions() as session:
        [row] = await parked_rows(session, plumbing.tables.outbox)
    assert row.event_id == stray.id
    assert row.attempts == 2
    assert row.last_error
    await asyncio.sleep(0.5)
    assert await relay.relay_once() == 0  # parked: not tried any more
    async with plumbing.sessions() as session:
        [again] = await parked_rows(session, plumbing.tables.outbox)
    assert again.attempts == 2

    later = await add_events(plumbing, outbox, [2054])
    assert await relay.relay_once() == 1  # a parked row never blocks the rows behind it

    async with transaction(plumbing.sessions) as session:
        assert await replay_parked(session, plumbing.tables.outbox, [row.id]) == 1
    async with plumbing.sessions() as session:
        assert await parked_rows(session, plumbing.tables.outbox) == []
    assert await relay.relay_once() == 0  # tried again (and refused again)
    async with plumbing.sessions() as session:
        still: list[ParkedRow | None] = list(await parked_rows(session, plumbing.tables.outbox))
        [retried] = still or [None]
        t = plumbing.tables.outbox
        attempts = await session.scalar(select(t.c.attempts).where(t.c.event_id == stray.id))
    assert retried is None
    assert attempts == 1
    assert await stream_ids(nats_url) == [str(i) for i in [*good, *later]]


async def test_two_relays_side_by_side_publish_every_event_exactly_once(
    plumbing: Plumbing, nats_url: str
) -> None:
    outbox = Outbox(plumbing.tables.outbox)
    ids = await add_events(plumbing, outbox, list(range(3000, 3600)))

    def relay() -> OutboxRelay:
        return OutboxRelay(
            outbox, plumbing.sessions, plumbing.bus, producer="registry", batch_size=50
        )

    async def drain(r: OutboxRelay) -> int:
        total = 0
        while sent := await r.relay_once():
            total += sent
        return total

    first, second = await asyncio.gather(drain(relay()), drain(relay()))
    assert first + second == len(ids)
    assert first > 0
    assert second > 0  # both took part (SKIP LOCKED hands them different rows)
    assert sorted(await stream_ids(nats_url)) == sorted(str(i) for i in ids)
    assert await unpublished(plumbing) == 0


async def test_a_consumers_transaction_wakes_the_relay(plumbing: Plumbing, nats_url: str) -> None:
    """The relay polls only once a minute here: only the after-commit wake-up can explain a
    quick publication of what a consumer's batch wrote to the outbox."""
    outbox = Outbox(plumbing.tables.outbox)

    async def announce(session: AsyncSession, events: Sequence[Event]) -> None:
        await outbox.add_many(
            session,
            [
                EditionCreatedV1(
                    edition_id=uuid.uuid4(), year=payload.year + 1000, name="next", status="draft"
                )
                for _, payload in events
                if isinstance(payload, EditionCreatedV1) and payload.year < 3000  # no chain
            ],
            edition=None,
        )

    consumer = EventConsumer(
        durable="announcer",
        producer="registry",
        subjects=["registry.edition.created.v1"],
        batch_handler=announce,
        session_factory=plumbing.sessions,
        tables=plumbing.tables,
        bus=plumbing.bus,
        fetch_timeout=0.2,
    )
    relay = OutboxRelay(
        outbox, plumbing.sessions, plumbing.bus, producer="registry", poll_seconds=60, listen=False
    )
    async with jetstream(nats_url) as js, running(consumer):
        relay_task = asyncio.create_task(relay.run())
        try:
            await asyncio.sleep(0.5)  # the relay's first round found nothing; it now waits
            await publish(js, edition_event(2060).model_dump_json().encode())
            await eventually(lambda: _length_is(nats_url, 2), within=10)
        finally:
            relay.stop()
            await asyncio.wait_for(relay_task, 5)  # a stopped relay leaves at once
    assert await unpublished(plumbing) == 0


async def test_another_process_writing_the_outbox_wakes_the_relay_through_postgresql(
    plumbing: Plumbing, nats_url: str
) -> None:
    """Two `Outbox` objects stand for two processes: the writer's wake-up cannot reach the
    relay's in-process event, only PostgreSQL NOTIFY can."""
    writer = Outbox(plumbing.tables.outbox)
    relay = OutboxRelay(
        Outbox(plumbing.tables.outbox),
        plumbing.sessions,
        plumbing.bus,
        producer="registry",
        poll_seconds=60,
    )
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(1.0)  # first round done, listener connected
        ids = await add_events(plumbing, writer, [2070])
        await eventually(lambda: _length_is(nats_url, 1), within=10)
    finally:
        relay.stop()
        await asyncio.wait_for(task, 5)
    assert await stream_ids(nats_url) == [str(ids[0])]


async def _length_is(nats_url: str, n: int) -> bool:
    try:
        return len(await stream_ids(nats_url)) == n
    except Exception:  # no stream yet
        return False
