"""Consumer base: a durable JetStream pull consumer applying whole batches idempotently.

A fetched batch is applied in ONE transaction: one bulk insert of the batch's event ids into
the inbox (`ON CONFLICT DO NOTHING RETURNING`) drops what was already applied, the effects
follow, the transaction commits, and only then is every message of the batch acked. A
redelivered event finds its id in the inbox and changes nothing, so several processes can be
members of one durable consumer without double counting.

Each message is parsed and validated once. What cannot be read (malformed, unknown type or
version, no handler) is dead-lettered and terminated without holding back the rest of its
batch. When a batch's effects fail, the batch is split in halves and retried until the failing
event stands alone: it is dead-lettered at once when the handler says it never will apply
(`PermanentEventError`) or after `max_deliveries`, otherwise nak'ed with a growing delay, and
the rest is applied. A lost database connection naks the whole batch with a growing delay and
pauses the loop: nothing is dead-lettered for an outage.

Handlers come in two shapes (one per consumer):
- per event, `async def handler(session, envelope, payload)` keyed by subject; each runs in a
  SAVEPOINT of the batch transaction, so one failing event is isolated without re-running the
  others;
- per batch, `async def handler(session, events)` receiving the batch's new events (duplicates
  removed) in delivery order, for set-based effects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from nats.js.errors import FetchTimeoutError
from opentelemetry import propagate
from opentelemetry.trace import Link, SpanKind, get_current_span
from prometheus_client import Counter, Histogram
from sqlalchemy import ARRAY, Text, Uuid, bindparam, delete, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import ReturningInsert

from shared.db import connection_lost, transaction
from shared.events import STREAMS, EventEnvelope, Payload, UnknownEvent, parse_event
from shared.messaging import MessageBus
from shared.observability import event_context, tracer
from shared.tables import MessagingTables
from shared.topology import check_consumer, consumer_config

log = logging.getLogger(__name__)

EventHandler = Callable[[AsyncSession, EventEnvelope, Payload], Awaitable[None]]
Event = tuple[EventEnvelope, Payload]
BatchHandler = Callable[[AsyncSession, Sequence[Event]], Awaitable[None]]

HANDLED = Counter(
    "consumer_messages_total", "Messages handled by consumers", ["consumer", "outcome"]
)
REDELIVERIES = Counter(
    "consumer_redeliveries_total",
    "Messages received again (after a nak, a lost ack or a member's death)",
    ["consumer"],
)
BATCH_SECONDS = Histogram(
    "consumer_batch_seconds",
    "Time to apply and settle one fetched batch",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def raise_if_cancelling() -> None:
    """nats-py sometimes turns a cancellation into its own error; a loop must still stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def repeat(step: Callable[[], Awaitable[object]], *, interval: float, what: str) -> None:
    """Run `step` every `interval` seconds for the process's life; a failure is logged and
    the next round comes as usual (a background task of a service, cancelled at shutdown)."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise_if_cancelling()
            log.warning(f"{what} failed; will retry", extra={"error": repr(exc)})
        await asyncio.sleep(interval)


class EventError(Exception):
    """Raised by a handler about some events. A batch handler may name them (`event_ids`):
    the consumer then sets those aside and applies the rest at once, instead of splitting the
    batch to find them."""

    def __init__(self, message: str, *, event_ids: Collection[uuid.UUID] = ()) -> None:
        super().__init__(message)
        self.event_ids = frozenset(event_ids)


def subject_matches(subject: str, pattern: str) -> bool:
    """NATS subject matching: `*` stands for one token, a final `>` for one or more."""
    tokens, wanted = subject.split("."), pattern.split(".")
    for i, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > i
        if i >= len(tokens) or (token != "*" and token != tokens[i]):
            return False
    return len(tokens) == len(wanted)


class PermanentEventError(EventError):
    """The event is readable but can never be applied; retrying would not help: it is
    dead-lettered at once."""


class RetryableEventError(EventError):
    """The event cannot be applied yet (what it depends on has not arrived): nak'ed with a
    growing delay, dead-lettered after `max_deliveries`."""


class DeadLetterNotFound(LookupError):
    """No dead letter of this consumer has that id."""


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    RETRY = "retry"
    DEAD_LETTERED = "dead_lettered"


@dataclass(eq=False)
class Delivery:
    """One fetched message, read once; its outcome is settled after the batch's commit."""

    message: Msg
    envelope: EventEnvelope | None = None
    payload: Payload | None = None
    reason: str = ""  # why it is dead-lettered
    outcome: Outcome | None = None

    @property
    def deliveries(self) -> int:
        return self.message.metadata.num_delivered or 1

    @property
    def event_id(self) -> uuid.UUID:
        assert self.envelope is not None
        return self.envelope.id


class _DatabaseUnreachable(Exception):
    """The batch could not reach the database; every unsettled message is nak'ed."""


class EventConsumer:
    def __init__(
        self,
        *,
        durable: str,
        producer: str,
        session_factory: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        bus: MessageBus,
        handlers: Mapping[str, EventHandler] | None = None,
        batch_handler: BatchHandler | None = None,
        subjects: Sequence[str] | None = None,
        batch_size: int = 100,
        nak_delay: float = 2.0,
        max_nak_delay: float = 60.0,
        max_deliveries: int = 10,
        fetch_timeout: float = 1.0,
        ack_wait: float = 30.0,
        config: ConsumerConfig | None = None,
    ) -> None:
        if (handlers is None) == (batch_handler is None):
            raise ValueError("give either per-event `handlers` or one `batch_handler`")
        self.durable = durable
        self.producer = producer
        self.stream = STREAMS[producer]
        self.handlers = dict(handlers or {})
        self.batch_handler = batch_handler
        # A batch handler takes every event of the producer unless told which subjects.
        self._subjects = sorted(subjects or self.handlers or [f"{producer}.>"])
        self.session_factory = session_factory
        self.tables = tables
        self.bus = bus
        self.batch_size = batch_size
        self.nak_delay = nak_delay
        self.max_nak_delay = max_nak_delay
        self.max_deliveries = max_deliveries
        self.fetch_timeout = fetch_timeout
        self.ack_wait = ack_wait
        # What the durable must look like on the server (`barometer nats setup` creates it
        # from shared/topology.py; a service passes that definition, built from its settings).
        self.config = config or consumer_config(
            durable, self._subjects, ack_wait=ack_wait, max_ack_pending=max(1000, 4 * batch_size)
        )
        self._stopping = asyncio.Event()
        self._inbox_insert = self._bulk_inbox_insert()
        self._accepted: dict[str, bool] = {}

    @property
    def subjects(self) -> Sequence[str]:
        return self._subjects

    def _accepts(self, subject: str) -> bool:
        if self.handlers:
            return subject in self.handlers
        # A stream carries a handful of subjects: each is matched against the patterns once.
        accepted = self._accepted.get(subject)
        if accepted is None:
            accepted = any(subject_matches(subject, pattern) for pattern in self._subjects)
            if len(self._accepted) < 1000:
                self._accepted[subject] = accepted
        return accepted

    async def check(self, js: JetStreamContext) -> None:
        """Raise `TopologyMismatch` unless the durable exists as `config` says. A consumer
        never creates or changes a stream or a durable: `barometer nats setup` does."""
        await check_consumer(js, self.stream, self.config)

    def stop(self) -> None:
        """Finish the batch in hand (applied and acked, or nak'ed), then leave `run`."""
        self._stopping.set()

    async def run(self) -> None:
        """Fetch and apply batches until stopped or cancelled, riding out NATS and database
        outages. The next batch is fetched while the current one is applied."""
        await self.bus.wait_connected()
        subscription: JetStreamContext.PullSubscription | None = None
        upcoming: asyncio.Future[list[Msg]] | None = None
        pause = self.nak_delay
        try:
            while not self._stopping.is_set():
                try:
                    if subscription is None:
                        js = self.bus.js
                        subscription = await js.pull_subscribe_bind(
                            durable=self.durable, stream=self.stream
                        )
                    fetch, upcoming = upcoming or self._start_fetch(subscription), None
                    messages = await self._fetched(fetch)
                    if not messages:
                        continue
                    if not self._stopping.is_set():
                        upcoming = self._start_fetch(subscription)
                    if await self.handle_batch(messages):
                        pause = self.nak_delay
                    else:  # the database is out of reach: wait longer each time
                        await asyncio.sleep(pause)
                        pause = min(pause * 2, self.max_nak_delay)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    raise_if_cancelling()
                    log.warning(
                        "consumer loop error; retrying",
                        extra={"consumer": self.durable, "error": repr(exc)},
                    )
                    await self._release(upcoming)
                    subscription = upcoming = None
                    await asyncio.sleep(1.0)
        finally:
            await self._release(upcoming)
            if self._stopping.is_set():  # acks and naks out before the connection closes
                await self.bus.flush()

    def _start_fetch(
        self, subscription: JetStreamContext.PullSubscription
    ) -> asyncio.Future[list[Msg]]:
        return asyncio.ensure_future(
            subscription.fetch(self.batch_size, timeout=self.fetch_timeout)
        )

    async def _fetched(self, fetch: asyncio.Future[list[Msg]]) -> list[Msg]:
        """The batch `fetch` brings, or nothing after `fetch_timeout` or once asked to stop."""
        if not fetch.done():
            stop: asyncio.Future[object] = asyncio.ensure_future(self._stopping.wait())
            waiting: list[asyncio.Future[object]] = [fetch, stop]  # type: ignore[list-item]
            try:
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
                if not fetch.done():  # stopping, or cancelled
                    await self._release(fetch)
            if fetch.cancelled():
                return []
        try:
            return fetch.result()
        except (FetchTimeoutError, NatsTimeoutError, TimeoutError):
            raise_if_cancelling()
            return []

    async def _release(self, fetch: asyncio.Future[list[Msg]] | None) -> None:
        """Give back a batch fetched ahead that will not be applied: nak'ed without delay so
        another member (or the next start) gets it at once; a fetch still waiting is cancelled
        (what it brings is redelivered after `ack_wait`)."""
        if fetch is None:
            return
        if not fetch.done():
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return
        if fetch.cancelled() or fetch.exception() is not None:
            return
        for message in fetch.result():
            with contextlib.suppress(Exception):
                await message.nak()

    async def handle_batch(self, messages: Sequence[Msg]) -> bool:
        """Apply a fetched batch and settle every message; False when the database was out
        of reach (every message not applied by then is nak'ed)."""
        started = time.perf_counter()
        deliveries = [self._read(message) for message in messages]
        again = sum(1 for d in deliveries if d.deliveries > 1)
        if again:
            REDELIVERIES.labels(self.durable).inc(again)
        unreadable = [d for d in deliveries if d.envelope is None]
        readable = [d for d in deliveries if d.envelope is not None]
        reachable = True
        try:
            await self._apply(readable, unreadable)
        except Exception as exc:
            raise_if_cancelling()
            reachable = False
            log.warning(
                "batch not applied; it will be redelivered",
                extra={"consumer": self.durable, "error": repr(exc)},
            )
        await self._settle(deliveries)
        BATCH_SECONDS.labels(self.durable).observe(time.perf_counter() - started)
        return reachable

    def _read(self, message: Msg) -> Delivery:
        delivery = Delivery(message)
        try:
            delivery.envelope, delivery.payload = parse_event(message.data)
            if not self._accepts(delivery.envelope.subject):
                raise UnknownEvent(f"{self.durable} has no handler for {delivery.envelope.subject}")
        except UnknownEvent as exc:
            log.error("unreadable event", extra={"consumer": self.durable, "reason": str(exc)})
            delivery.reason = str(exc)
        return delivery

    async def _apply(self, batch: list[Delivery], dead: list[Delivery]) -> None:
        """Apply `batch` and record `dead` in one transaction; on failure, split the batch
        until the failing event stands alone. Raises only when the database is out of reach."""
        if not batch and not dead:
            return
        try:
            async with transaction(self.session_factory) as session:
                settled = await self._apply_in(session, batch)
                await self._dead_letter(session, [*dead, *settled.dead])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if connection_lost(exc):
                raise _DatabaseUnreachable(repr(exc)) from exc
            if dead:  # the unreadable ones do not depend on the batch's fate
                await self._apply([], dead)
            named: frozenset[uuid.UUID] = getattr(exc, "event_ids", frozenset())
            culprits = [d for d in batch if d.event_id in named]
            if culprits and len(culprits) < len(batch):  # the handler said which ones
                await self._fail(culprits, exc)
                await self._apply([d for d in batch if d.event_id not in named], [])
            elif len(batch) > 1:
                half = len(batch) // 2
                await self._apply(batch[:half], [])
                await self._apply(batch[half:], [])
            elif batch:
                await self._fail(batch, exc)
            return
        for d in batch:
            d.outcome = settled.outcomes[d]
        for d in dead:
            d.outcome = Outcome.DEAD_LETTERED

    async def _apply_in(self, session: AsyncSession, batch: list[Delivery]) -> _Settled:
        settled = _Settled()
        if not batch:
            return settled
        first: dict[uuid.UUID, Delivery] = {}
        for d in batch:
            first.setdefault(d.event_id, d)
        new_ids = set(
            await session.scalars(
                self._inbox_insert,
                {"ids": list(first), "subjects": [_event(d)[0].subject for d in first.values()]},
            )
        )
        fresh = [d for d in first.values() if d.event_id in new_ids]
        for d in batch:
            settled.outcomes[d] = Outcome.DUPLICATE
        for d in fresh:
            settled.outcomes[d] = Outcome.PROCESSED
        if self.batch_handler is not None:
            # One span for the batch, linked to the trace of each event it applies.
            with tracer.start_as_current_span(
                f"{self.durable} batch", kind=SpanKind.CONSUMER, links=_links(fresh)
            ):
                await self.batch_handler(session, [_event(d) for d in fresh])
            return settled
        for d in fresh:
            envelope, payload = _event(d)
            try:
                with event_context(str(envelope.id), envelope.trace, self._span_name(envelope)):
                    async with session.begin_nested():
                        await self.handlers[envelope.subject](session, envelope, payload)
            except Exception as exc:
                if connection_lost(exc):
                    raise
                # Its effects are rolled back to the savepoint; so is its inbox row, so that a
                # redelivery (or a replay of its dead letter) applies it.
                await session.execute(
                    delete(self.tables.inbox).where(
                        self.tables.inbox.c.consumer == self.durable,
                        self.tables.inbox.c.event_id == envelope.id,
                    )
                )
                settled.outcomes[d] = self._judge(d, exc)
                if settled.outcomes[d] is Outcome.DEAD_LETTERED:
                    settled.dead.append(d)
        return settled

    def _span_name(self, envelope: EventEnvelope) -> str:
        return f"{self.durable} {envelope.subject}"

    def _judge(self, d: Delivery, exc: Exception) -> Outcome:
        """Dead letter or retry for an event whose effects failed; sets its reason."""
        if isinstance(exc, PermanentEventError):
            d.reason = f"rejected by handler: {exc}"
            return Outcome.DEAD_LETTERED
        if d.deliveries >= self.max_deliveries:
            d.reason = f"failed {d.deliveries} times, last: {exc!r}"
            return Outcome.DEAD_LETTERED
        log.warning(
            "event handling failed; will retry",
            extra={"consumer": self.durable, "event_id": str(d.event_id), "error": repr(exc)},
        )
        return Outcome.RETRY

    async def _fail(self, failed: Sequence[Delivery], exc: Exception) -> None:
        """Dead-letter (in one transaction) or retry events whose effects failed."""
        judged = {d: self._judge(d, exc) for d in failed}
        dead = [d for d, outcome in judged.items() if outcome is Outcome.DEAD_LETTERED]
        if dead:
            async with transaction(self.session_factory) as session:
                await self._dead_letter(session, dead)
        for d, outcome in judged.items():
            d.outcome = outcome

    async def _dead_letter(self, session: AsyncSession, dead: Sequence[Delivery]) -> None:
        if not dead:
            return
        rows = []
        for d in dead:
            metadata = d.message.metadata
            rows.append(
                {
                    "consumer": self.durable,
                    "stream": metadata.stream or self.stream,
                    "stream_sequence": metadata.sequence.stream if metadata.sequence else 0,
                    "subject": d.message.subject,
                    "event_id": d.envelope.id if d.envelope else None,
                    "deliveries": d.deliveries,
                    "data": d.message.data,
                    "reason": d.reason[:2000],
                }
            )
        await session.execute(insert(self.tables.dead_letters), rows)

    async def replay_dead_letter(self, dead_letter_id: int) -> Outcome:
        """Apply one of this consumer's dead letters now (after a fix, or once what it waited
        for has arrived) and remove it, in one transaction with its inbox row: PROCESSED, or
        DUPLICATE when the event was applied meanwhile. Raises `DeadLetterNotFound`,
        `UnknownEvent` (still unreadable) or the handler's error; the dead letter then stays."""
        t = self.tables.dead_letters
        async with transaction(self.session_factory) as session:
            data = await session.scalar(
                select(t.c.data)
                .where(t.c.id == dead_letter_id, t.c.consumer == self.durable)
                .with_for_update()
            )
            if data is None:
                raise DeadLetterNotFound(f"{self.durable} has no dead letter {dead_letter_id}")
            envelope, payload = parse_event(data)
            if not self._accepts(envelope.subject):
                raise UnknownEvent(f"{self.durable} has no handler for {envelope.subject}")
            fresh = await session.scalars(
                self._inbox_insert, {"ids": [envelope.id], "subjects": [envelope.subject]}
            )
            outcome = Outcome.DUPLICATE
            if fresh.first() is not None:
                if self.batch_handler is not None:
                    await self.batch_handler(session, [(envelope, payload)])
                else:
                    await self.handlers[envelope.subject](session, envelope, payload)
                outcome = Outcome.PROCESSED
            await session.execute(delete(t).where(t.c.id == dead_letter_id))
        HANDLED.labels(self.durable, f"replayed_{outcome.value}").inc()
        return outcome

    def nak_delay_for(self, deliveries: int) -> float:
        """Redelivery delay after the `deliveries`-th failed delivery: doubled each time."""
        return float(min(self.nak_delay * 2 ** (deliveries - 1), self.max_nak_delay))

    async def _settle(self, deliveries: Sequence[Delivery]) -> None:
        """Ack, nak or terminate each message. These are buffered writes on the connection
        (no round trip each), sent together by the client's flusher."""
        for d in deliveries:
            outcome = d.outcome or Outcome.RETRY
            HANDLED.labels(self.durable, outcome.value).inc()
            try:
                if outcome is Outcome.RETRY:
                    await d.message.nak(delay=self.nak_delay_for(d.deliveries))
                elif outcome is Outcome.DEAD_LETTERED:
                    await d.message.term()
                else:
                    await d.message.ack()
            except Exception as exc:  # redelivered after ack_wait; the inbox makes that safe
                raise_if_cancelling()
                log.warning(
                    "could not settle a message",
                    extra={"consumer": self.durable, "error": repr(exc)},
                )

    def _bulk_inbox_insert(self) -> ReturningInsert[tuple[uuid.UUID]]:
        inbox = self.tables.inbox
        rows = (
            func.unnest(
                bindparam("ids", type_=ARRAY(Uuid())), bindparam("subjects", type_=ARRAY(Text()))
            )
            .table_valued("event_id", "subject")
            .render_derived()
        )
        return (
            pg_insert(inbox)
            .from_select(
                ["consumer", "event_id", "subject"],
                select(literal(self.durable, Text()), rows.c.event_id, rows.c.subject),
            )
            .on_conflict_do_nothing()
            .returning(inbox.c.event_id)
        )


@dataclass
class _Settled:
    """Outcomes decided inside a transaction, true only once it commits."""

    outcomes: dict[Delivery, Outcome]
    dead: list[Delivery]

    def __init__(self) -> None:
        self.outcomes = {}
        self.dead = []


def _links(deliveries: Sequence[Delivery]) -> list[Link]:
    links = []
    for d in deliveries:
        if d.envelope is not None and d.envelope.trace:
            span = get_current_span(propagate.extract(d.envelope.trace)).get_span_context()
            if span.is_valid:
                links.append(Link(span))
    return links


def _event(d: Delivery) -> Event:
    assert d.envelope is not None
    assert d.payload is not None
    return d.envelope, d.payload
