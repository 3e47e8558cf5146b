"""The transactional outbox and its relay, against real PostgreSQL and JetStream."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import nats
from sqlalchemy import func, select, update

from barometer_cli.embedded import EmbeddedNats
from shared.contracts.registry import EditionCreatedV1
from shared.db import transaction
from shared.messaging import MessageBus
from shared.outbox import Outbox, OutboxRelay
from tests.helpers import nats_setup
from tests.shared.conftest import Plumbing


def edition_created(year: int) -> EditionCreatedV1:
    return EditionCreatedV1(edition_id=uuid.uuid4(), year=year, name=f"E{year}", status="draft")


async def stream_ids(nats_url: str, stream: str = "REGISTRY") -> list[str]:
    """The Nats-Msg-Id of every message in the stream, in stream order."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        ids = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))
        return ids
    finally:
        await nc.close()


def relay_for(p: Plumbing, outbox: Outbox, bus: MessageBus | None = None) -> OutboxRelay:
    return OutboxRelay(outbox, p.sessions, bus or p.bus, producer="registry", publish_timeout=1)


async def test_committed_events_are_published_once_with_their_id(
    plumbing: Plumbing, nats_url: str
) -> None:
    outbox = Outbox(plumbing.tables.outbox)
    async with transaction(plumbing.sessions) as session:
        first = await outbox.add(session, edition_created(2030), edition=None)
        second = await outbox.add(session, edition_created(2031), edition=None)
    relay = relay_for(plumbing, outbox)
    assert await relay.relay_once() == 2
    assert await relay.relay_once() == 0
    assert await stream_ids(nats_url) == [str(first.id), str(second.id)]
    async with transaction(plumbing.sessions) as session:
        t = plumbing.tables.outbox
        rows = (await session.execute(select(t.c.published_at, t.c.stream_sequence))).all()
    assert all(r.published_at is not None for r in rows)
    assert sorted(r.stream_sequence for r in rows) == [1, 2]


async def test_rolled_back_transaction_publishes_nothing(plumbing: Plumbing, nats_url: str) -> None:
    outbox = Outbox(plumbing.tables.outbox)
    async with plumbing.sessions() as session, session.begin():
        await outbox.add(session, edition_created(2032), edition=None)
        await session.rollback()
    assert await relay_for(plumbing, outbox).relay_once() == 0
    async with plumbing.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(plumbing.tables.outbox)) == 0


async def test_out_of_order_commits_are_not_skipped(plumbing: Plumbing, nats_url: str) -> None:
    """An event whose transaction began first but commits last is still relayed."""
    outbox = Outbox(plumbing.tables.outbox)
    relay = relay_for(plumbing, outbox)
    slow = plumbing.sessions()
    await slow.begin()
    early = await outbox.add(slow, edition_created(2033), edition=None)  # lower id, not committed
    async with transaction(plumbing.sessions) as session:
        late = await outbox.add(session, edition_created(2034), edition=None)
    assert await relay.relay_once() == 1
    await slow.commit()
    await slow.close()
    assert await relay.relay_once() == 1
    assert await stream_ids(nats_url) == [str(late.id), str(early.id)]


async def test_republishing_after_a_lost_ack_is_deduplicated(
    plumbing: Plumbing, nats_url: str
) -> None:
    outbox = Outbox(plumbing.tables.outbox)
    async with transaction(plumbing.sessions) as session:
        event = await outbox.add(session, edition_created(2035), edition=None)
    relay = relay_for(plumbing, outbox)
    assert await relay.relay_once() == 1
    # As if the ack had been lost: the row is pending again and gets published a second time.
    async with transaction(plumbing.sessions) as session:
        await session.execute(update(plumbing.tables.outbox).values(published_at=None))
    assert await relay.relay_once() == 1
    assert await stream_ids(nats_url) == [str(event.id)]


async def test_events_wait_in_the_outbox_while_nats_is_down(
    plumbing: Plumbing, tmp_path: Path
) -> None:
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    await nats_setup(server.url)
    bus = MessageBus(server.url, name="outage-test")
    await bus.connect()
    outbox = Outbox(plumbing.tables.outbox)
    relay = relay_for(plumbing, outbox, bus)
    try:
        server.stop()
        async with transaction(plumbing.sessions) as session:
            events = [
                await outbox.add(session, edition_created(2040 + i), edition=None) for i in range(3)
            ]
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(1.5)
        async with plumbing.sessions() as session:
            pending = await session.scalar(
                select(func.count())
                .select_from(plumbing.tables.outbox)
                .where(plumbing.tables.outbox.c.published_at.is_(None))
            )
        assert pending == 3
        server.start()  # same port, same store

        async def all_published() -> bool:
            async with plumbing.sessions() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(plumbing.tables.outbox)
                    .where(plumbing.tables.outbox.c.published_at.is_(None))
                )
            return left == 0

        from tests.helpers import eventually

        await eventually(all_published, within=30)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert await stream_ids(server.url) == [str(e.id) for e in events]
    finally:
        await bus.close()
        server.stop()
