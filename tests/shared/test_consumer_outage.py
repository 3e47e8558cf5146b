"""A real PostgreSQL outage under a running consumer: batches are nak'ed and waited out with a
growing delay, nothing is dead-lettered, everything is applied once when the database is back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from barometer_cli.catalog import SERVICES
from barometer_cli.embedded import EmbeddedPostgres
from shared.consumer import Event, EventConsumer
from shared.db import create_engine, create_session_factory
from shared.messaging import MessageBus
from shared.migrations import upgrade
from shared.tables import MessagingTables
from tests.helpers import eventually
from tests.shared.conftest import Plumbing
from tests.shared.test_consumer import publish
from tests.shared.test_consumer_batches import edition_event, jetstream, running, year_of


async def test_a_database_outage_is_waited_out_without_dead_letters(
    plumbing: Plumbing, nats_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg", durable=False)
    await asyncio.to_thread(pg.start)
    spec = next(s for s in SERVICES if s.name == "scoring")
    settings = spec.settings(environment="test", database_url=pg.url, nats_url=nats_url)
    await asyncio.to_thread(upgrade, spec.migrations_dir, pg.url, settings.database_schema)
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    bus = MessageBus(nats_url, name="outage")
    await bus.connect()
    tables: MessagingTables = plumbing.tables
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE effects (event_id uuid, year int)"))

    async def record(session: AsyncSession, events: Sequence[Event]) -> None:
        await session.execute(
            text(
                "INSERT INTO effects SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:y AS int[]))"
            ),
            {"ids": [e.id for e, _ in events], "y": [year_of(p) for _, p in events]},
        )

    consumer = EventConsumer(
        durable="outage",
        producer="registry",
        batch_handler=record,
        session_factory=sessions,
        tables=tables,
        bus=bus,
        nak_delay=0.2,
        max_nak_delay=1.0,
        max_deliveries=2,  # the outage outlasts it: still no dead letter
        fetch_timeout=0.2,
    )
    events = [edition_event(2200 + i) for i in range(20)]
    try:
        async with jetstream(nats_url) as js, running(consumer):
            await publish(js, events[0].model_dump_json().encode())

            async def applied() -> int:
                async with sessions() as session:
                    return int(await session.scalar(text("SELECT count(*) FROM effects")) or 0)

            await eventually(applied)
            await asyncio.to_thread(pg.stop)
            for event in events[1:]:
                await publish(js, event.model_dump_json().encode())
            await asyncio.sleep(3)  # several deliveries fail meanwhile
            await asyncio.to_thread(pg.start)  # same port, same data
            await eventually(lambda: _count_is(applied, len(events)), within=30)
            info = await js.consumer_info(consumer.stream, consumer.durable)
        assert info.num_pending == 0
        async with sessions() as session:
            dead = await session.scalar(select(func.count()).select_from(tables.dead_letters))
            distinct = await session.scalar(text("SELECT count(DISTINCT event_id) FROM effects"))
        assert dead == 0
        assert distinct == len(events)
        refused = [r for r in caplog.records if r.getMessage().startswith("batch not applied")]
        assert len(refused) >= 2  # the outage was met, more often than max_deliveries
    finally:
        await bus.close()
        await engine.dispose()
        await asyncio.to_thread(pg.stop)


async def _count_is(probe: Callable[[], Awaitable[int]], n: int) -> bool:
    try:
        return bool(await probe() == n)
    except Exception:  # the database is still starting
        return False
