"""The consumer's batches: one transaction per batch, poison isolated within a batch, duplicates
dropped, several members of one durable, outages waited out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import nats
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer import (
    BatchHandler,
    DeadLetterNotFound,
    Event,
    EventConsumer,
    EventHandler,
    Outcome,
    PermanentEventError,
    RetryableEventError,
    subject_matches,
)
from shared.contracts.registry import EditionCreatedV1
from shared.events import EventEnvelope, Payload, new_event
from shared.topology import ensure_consumer
from tests.helpers import eventually
from tests.shared.conftest import Plumbing
from tests.shared.test_consumer import (
    SUBJECT,
    count_effects,
    make_effects_table,
    no_pending,
    publish,
    record_effect,
)

POISON_YEAR = 1999


def year_of(payload: Payload) -> int:
    assert isinstance(payload, EditionCreatedV1)
    return payload.year


def edition_event(year: int) -> EventEnvelope:
    payload = EditionCreatedV1(edition_id=uuid.uuid4(), year=year, name="E", status="draft")
    return new_event(payload, edition=None)


async def record_batch(session: AsyncSession, events: Sequence[Event]) -> None:
    """One statement for the whole batch; refuses the poison year."""
    years = []
    for _, payload in events:
        assert isinstance(payload, EditionCreatedV1)
        if payload.year == POISON_YEAR:
            raise PermanentEventError("no edition in 1999")
        years.append(payload.year)
    await session.execute(
        text(
            "INSERT INTO effects SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:years AS int[]))"
        ),
        {"ids": [envelope.id for envelope, _ in events], "years": years},
    )


def make_consumer(
    p: Plumbing,
    handler: BatchHandler | None,
    *,
    per_event: EventHandler | None = None,
    cls: type[EventConsumer] = EventConsumer,
    **options: float | str,
) -> EventConsumer:
    """A registry consumer on the test's plumbing, quick to retry: one batch `handler`, or
    `per_event` handler."""
    values: dict[str, Any] = {"nak_delay": 0.1, "fetch_timeout": 0.2, **options}
    return cls(
        durable=str(values.pop("durable", f"test-{uuid.uuid4().hex[:8]}")),
        producer="registry",
        handlers={SUBJECT: per_event} if per_event else None,
        batch_handler=handler,
        session_factory=p.sessions,
        tables=p.tables,
        bus=p.bus,
        **values,
    )


def batch_consumer(p: Plumbing, calls: list[list[int]]) -> EventConsumer:
    async def handler(session: AsyncSession, events: Sequence[Event]) -> None:
        calls.append([year_of(payload) for _, payload in events])
        await record_batch(session, events)

    return make_consumer(p, handler)


@asynccontextmanager
async def jetstream(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()  # the streams come from `barometer nats setup` (the fixture)
    finally:
        await nc.close()


@asynccontextmanager
async def running(*consumers: EventConsumer) -> AsyncIterator[None]:
    """The consumers' durables declared (as `barometer nats setup` does), then their loops."""
    for c in consumers:
        await c.bus.wait_connected()
        await ensure_consumer(c.bus.js, c.stream, c.config)
    tasks = [asyncio.create_task(c.run()) for c in consumers]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def dead_letters(p: Plumbing) -> list[tuple[uuid.UUID | None, str]]:
    t = p.tables.dead_letters
    async with p.sessions() as session:
        return [
            (r.event_id, r.reason) for r in await session.execute(select(t.c.event_id, t.c.reason))
        ]


async def effect_years(p: Plumbing) -> list[int]:
    async with p.sessions() as session:
        return sorted(await session.scalars(text("SELECT year FROM effects")))


async def test_a_batch_is_applied_in_one_call_and_a_poison_event_in_its_middle_is_isolated(
    plumbing: Plumbing, nats_url: str
) -> None:
    await make_effects_table(plumbing)
    calls: list[list[int]] = []
    consumer = batch_consumer(plumbing, calls)
    events = [edition_event(2000 + i) for i in range(9)]
    poison = edition_event(POISON_YEAR)
    events.insert(4, poison)
    async with jetstream(nats_url) as js:
        for event in events:  # all in the stream before the first fetch: one batch
            await publish(js, event.model_dump_json().encode())
        async with running(consumer):
            await eventually(lambda: no_pending(js, consumer))
        info = await js.consumer_info(consumer.stream, consumer.durable)
    assert calls[0] == [e.payload["year"] for e in events]  # the whole batch, in order
    assert await effect_years(plumbing) == [2000 + i for i in range(9)]
    assert await dead_letters(plumbing) == [(poison.id, "rejected by handler: no edition in 1999")]
    assert info.num_redelivered == 0  # the rest was applied in the same pass, not redelivered


async def test_an_unreadable_message_does_not_hold_back_its_batch(
    plumbing: Plumbing, nats_url: str
) -> None:
    await make_effects_table(plumbing)
    calls: list[list[int]] = []
    consumer = batch_consumer(plumbing, calls)
    async with jetstream(nats_url) as js:
        await publish(js, edition_event(2001).model_dump_json().encode())
        await publish(js, b'{"id": "not even a uuid"}')
        await publish(js, edition_event(2002).model_dump_json().encode())
        async with running(consumer):
            await eventually(lambda: no_pending(js, consumer))
    assert calls == [[2001, 2002]]  # one transaction, the unreadable one left out
    [(event_id, reason)] = await dead_letters(plumbing)
    assert event_id is None
    assert reason.startswith("malformed envelope")
    assert await effect_years(plumbing) == [2001, 2002]


async def test_duplicates_within_a_batch_and_across_batches_are_applied_once(
    plumbing: Plumbing, nats_url: str
) -> None:
    await make_effects_table(plumbing)
    calls: list[list[int]] = []
    consumer = batch_consumer(plumbing, calls)
    old, new = edition_event(2010), edition_event(2011)
    async with jetstream(nats_url) as js:
        await publish(js, old.model_dump_json().encode())
        async with running(consumer):
            await eventually(lambda: no_pending(js, consumer))
            # Different message ids, so JetStream keeps every copy (as after its window).
            for event in (new, old, new, new):
                await publish(js, event.model_dump_json().encode())
            await eventually(lambda: no_pending(js, consumer))
    assert calls[0] == [2010]
    assert [year for call in calls[1:] for year in call] == [2011]
    assert await effect_years(plumbing) == [2010, 2011]
    async with plumbing.sessions() as session:
        inbox = await session.scalar(select(func.count()).select_from(plumbing.tables.inbox))
    assert inbox == 2


async def test_per_event_handlers_share_the_batch_transaction_and_a_failure_is_isolated(
    plumbing: Plumbing, nats_url: str
) -> None:
    await make_effects_table(plumbing)
    calls: list[int] = []

    async def handler(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
        assert isinstance(payload, EditionCreatedV1)
        calls.append(payload.year)
        await record_effect(session, envelope, payload)  # written, then rolled back if poison
        if payload.year == POISON_YEAR:
            raise RuntimeError("bug on this one")

    consumer = make_consumer(plumbing, None, per_event=handler, max_deliveries=2)
    events = [edition_event(2020), edition_event(POISON_YEAR), edition_event(2021)]
    async with jetstream(nats_url) as js:
        for event in events:
            await publish(js, event.model_dump_json().encode())
        async with running(consumer):
            await eventually(lambda: no_pending(js, consumer))
    # The good ones ran once (savepoints: no re-run); the poison twice, then dead-lettered.
    assert sorted(calls) == [POISON_YEAR, POISON_YEAR, 2020, 2021]
    assert await effect_years(plumbing) == [2020, 2021]
    [(event_id, reason)] = await dead_letters(plumbing)
    assert event_id == events[1].id
    assert reason.startswith("failed 2 times, last: RuntimeError('bug on this one')")
    async with plumbing.sessions() as session:
        inbox = set(await session.scalars(select(plumbing.tables.inbox.c.event_id)))
    assert inbox == {events[0].id, events[2].id}  # the dead letter can still be replayed


async def test_a_transient_batch_failure_is_retried_by_splitting_and_never_applies_twice(
    plumbing: Plumbing, nats_url: str
) -> None:
    await make_effects_table(plumbing)
    calls: list[list[int]] = []
    failures = {2031: 1}  # fails once, wherever it is, then succeeds

    async def handler(session: AsyncSession, events: Sequence[Event]) -> None:
        years = [year_of(payload) for _, payload in events]
        calls.append(years)
        for year in years:
            if failures.get(year):
                failures[year] -= 1
                raise ValueError("not yet")
        await record_batch(session, events)

    consumer = make_consumer(plumbing, handler)
    async with jetstream(nats_url) as js:
        for year in (2030, 2031, 2032, 2033):
            await publish(js, edition_event(year).model_dump_json().encode())
        async with running(consumer):
            await eventually(lambda: no_pending(js, consumer))
    assert calls[0] == [2030, 2031, 2032, 2033]
    assert calls[1] == [2030, 2031]  # bisected ...
    assert [2032, 2033] in calls
    assert await effect_years(plumbing) == [2030, 2031, 2032, 2033]
    assert await dead_letters(plumbing) == []


async def test_a_lost_database_connection_naks_the_batch_and_never_dead_letters(
    plumbing: Plumbing, nats_url: str
) -> None:
    await make_effects_table(plumbing)
    attempts: list[int] = []

    async def handler(session: AsyncSession, events: Sequence[Event]) -> None:
        attempts.append(len(events))
        if len(attempts) <= 3:
            raise ConnectionRefusedError("database down")
        await record_batch(session, events)

    # An outage longer than `max_deliveries` deliveries must still not dead-letter.
    consumer = make_consumer(plumbing, handler, nak_delay=0.05, max_deliveries=2)
    async with jetstream(nats_url) as js:
        for year in (2040, 2041):
            await publish(js, edition_event(year).model_dump_json().encode())
        async with running(consumer):
            await eventually(lambda: no_pending(js, consumer))
    assert attempts[:3] == [2, 2, 2]  # not split: the whole batch waited
    assert await effect_years(plumbing) == [2040, 2041]
    assert await dead_letters(plumbing) == []
    delays = [consumer.nak_delay_for(n) for n in range(1, 20)]
    assert delays == sorted(delays)
    assert delays[0] == 0.05
    assert delays[-1] == consumer.max_nak_delay


async def test_two_members_of_one_durable_never_apply_an_event_twice(
    plumbing: Plumbing, nats_url: str
) -> None:
    """Member A stalls inside its transaction past `ack_wait`: JetStream redelivers its batch to
    member B, whose inbox insert waits for A's commit and then finds the events applied."""
    await make_effects_table(plumbing)
    stalled: list[bool] = []

    async def slow_first_batch(session: AsyncSession, events: Sequence[Event]) -> None:
        if not stalled:
            stalled.append(True)
            await asyncio.sleep(2.5)
        await record_batch(session, events)

    redelivered: list[int] = []

    class Member(EventConsumer):
        async def handle_batch(self, messages: Sequence[Msg]) -> bool:
            redelivered.extend(1 for m in messages if (m.metadata.num_delivered or 1) > 1)
            return await super().handle_batch(messages)

    def member() -> EventConsumer:
        return make_consumer(
            plumbing, slow_first_batch, cls=Member, durable="shared", batch_size=20, ack_wait=1
        )

    a, b = member(), member()
    years = list(range(3000, 3200))
    async with jetstream(nats_url) as js:
        for year in years:
            await publish(js, edition_event(year).model_dump_json().encode())
        async with running(a, b):
            await eventually(lambda: no_pending(js, a))
    assert redelivered  # the race did happen: B was handed A's batch
    assert await effect_years(plumbing) == years
    assert await count_effects(plumbing) == len(years)


async def test_a_dead_letter_is_replayed_once_its_cause_is_fixed(
    plumbing: Plumbing, nats_url: str
) -> None:
    await make_effects_table(plumbing)
    refused = {2099}

    async def handler(session: AsyncSession, events: Sequence[Event]) -> None:
        for _, payload in events:
            if year_of(payload) in refused:
                raise PermanentEventError("refused for now")
        await record_batch(session, events)

    consumer = make_consumer(plumbing, handler)
    poison = edition_event(2099)
    async with jetstream(nats_url) as js:
        await publish(js, poison.model_dump_json().encode())
        async with running(consumer):
            await eventually(lambda: no_pending(js, consumer))
    t = plumbing.tables.dead_letters
    async with plumbing.sessions() as session:
        [dead_id] = await session.scalars(select(t.c.id))
    with pytest.raises(PermanentEventError):  # still refused: rolled back, the letter stays
        await consumer.replay_dead_letter(dead_id)
    assert [e for e, _ in await dead_letters(plumbing)] == [poison.id]

    refused.clear()
    assert await consumer.replay_dead_letter(dead_id) is Outcome.PROCESSED
    assert await effect_years(plumbing) == [2099]
    assert await dead_letters(plumbing) == []
    with pytest.raises(DeadLetterNotFound):
        await consumer.replay_dead_letter(dead_id)


async def test_a_batch_handler_naming_its_failing_events_spares_the_split(
    plumbing: Plumbing, nats_url: str
) -> None:
    await make_effects_table(plumbing)
    calls: list[list[int]] = []
    waiting = {2081, 2083}  # e.g. their grid has not arrived yet

    async def handler(session: AsyncSession, events: Sequence[Event]) -> None:
        calls.append([year_of(payload) for _, payload in events])
        blocked = [e.id for e, payload in events if year_of(payload) in waiting]
        if blocked:
            raise RetryableEventError("grid not there yet", event_ids=blocked)
        await record_batch(session, events)

    consumer = make_consumer(plumbing, handler, nak_delay=0.3)
    async with jetstream(nats_url) as js:
        for year in range(2080, 2086):
            await publish(js, edition_event(year).model_dump_json().encode())
        async with running(consumer):
            await eventually(lambda: _years_are(plumbing, [2080, 2082, 2084, 2085]))
            waiting.clear()
            await eventually(lambda: no_pending(js, consumer))
    # One failed pass, then the rest at once: no halving.
    assert calls[:2] == [list(range(2080, 2086)), [2080, 2082, 2084, 2085]]
    assert [2081, 2083] in calls[2:]  # redelivered together after the delay
    assert await effect_years(plumbing) == list(range(2080, 2086))
    assert await dead_letters(plumbing) == []


async def _years_are(p: Plumbing, years: list[int]) -> bool:
    return await effect_years(p) == years


@pytest.mark.parametrize(
    ("subject", "pattern", "matches"),
    [
        ("fieldwork.audit.validated.v2", "fieldwork.>", True),
        ("fieldwork.audit.validated.v2", "fieldwork.audit.validated.*", True),
        ("fieldwork.audit.validated.v2", "fieldwork.audit.validated.v2", True),
        ("fieldwork.audit.validated.v2", "fieldwork.audit.*", False),
        ("fieldwork", "fieldwork.>", False),
        ("fieldwork.grid.published.v1", "fieldwork.audit.>", False),
    ],
)
def test_a_batch_consumer_accepts_the_subjects_its_filter_names(
    subject: str, pattern: str, matches: bool
) -> None:
    assert subject_matches(subject, pattern) is matches


async def test_stop_finishes_the_batch_in_hand_and_gives_back_the_one_fetched_ahead(
    plumbing: Plumbing, nats_url: str
) -> None:
    await make_effects_table(plumbing)
    started = asyncio.Event()

    async def slow(session: AsyncSession, events: Sequence[Event]) -> None:
        started.set()
        await asyncio.sleep(1.0)  # stop() arrives while this batch is being applied
        await record_batch(session, events)

    first = make_consumer(plumbing, slow, batch_size=10, durable="stopping")
    async with jetstream(nats_url) as js:
        for year in range(2100, 2130):
            await publish(js, edition_event(year).model_dump_json().encode())
        await ensure_consumer(js, first.stream, first.config)
        task = asyncio.create_task(first.run())
        await asyncio.wait_for(started.wait(), 10)
        first.stop()
        await asyncio.wait_for(task, 5)  # returns by itself, not cancelled
        assert await effect_years(plumbing) == list(range(2100, 2110))  # the batch in hand
        # The batch it had fetched ahead was given back (nak'ed), not left to `ack_wait`
        # (30 s here): the next member gets everything at once.
        successor = make_consumer(plumbing, record_batch, batch_size=10, durable="stopping")
        async with running(successor):
            await eventually(lambda: _years_are(plumbing, list(range(2100, 2130))), within=10)
