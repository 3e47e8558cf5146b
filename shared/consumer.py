"""Consumer base: a durable JetStream pull consumer whose effects are idempotent.

Each message is handled in one transaction that also records its event id in the inbox;
a redelivered event finds its id there and changes nothing. The message is acked only after
that commit. Transient failures are nak'ed with a delay; what cannot be read (or keeps
failing) is written to the dead-letter table and terminated, never retried forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from enum import StrEnum

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError
from prometheus_client import Counter
from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import transaction
from shared.events import STREAMS, EventEnvelope, Payload, UnknownEvent, parse_event
from shared.messaging import MessageBus, ensure_stream
from shared.tables import MessagingTables

log = logging.getLogger(__name__)

EventHandler = Callable[[AsyncSession, EventEnvelope, Payload], Awaitable[None]]

HANDLED = Counter(
    "consumer_messages_total", "Messages handled by consumers", ["consumer", "outcome"]
)


def raise_if_cancelling() -> None:
    """nats-py sometimes turns a cancellation into its own error; a loop must still stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class PermanentEventError(Exception):
    """The event is readable but can never be applied; retrying would not help."""


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    RETRY = "retry"
    DEAD_LETTERED = "dead_lettered"


class EventConsumer:
    def __init__(
        self,
        *,
        durable: str,
        producer: str,
        handlers: Mapping[str, EventHandler],
        session_factory: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        bus: MessageBus,
        batch_size: int = 50,
        nak_delay: float = 2.0,
        max_deliveries: int = 10,
        fetch_timeout: float = 1.0,
    ) -> None:
        self.durable = durable
        self.producer = producer
        self.stream = STREAMS[producer]
        self.handlers = dict(handlers)
        self.session_factory = session_factory
        self.tables = tables
        self.bus = bus
        self.batch_size = batch_size
        self.nak_delay = nak_delay
        self.max_deliveries = max_deliveries
        self.fetch_timeout = fetch_timeout

    @property
    def subjects(self) -> Sequence[str]:
        return sorted(self.handlers)

    async def ensure(self, js: JetStreamContext) -> None:
        await ensure_stream(js, self.producer)
        await js.add_consumer(
            self.stream,
            ConsumerConfig(
                durable_name=self.durable,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                filter_subjects=list(self.subjects),
                ack_wait=30,
                max_ack_pending=1000,
            ),
        )

    async def run(self) -> None:
        """Fetch and handle batches until cancelled, riding out NATS and database outages."""
        await self.bus.wait_connected()
        subscription: JetStreamContext.PullSubscription | None = None
        while True:
            try:
                if subscription is None:
                    js = self.bus.js
                    await self.ensure(js)
                    subscription = await js.pull_subscribe_bind(
                        durable=self.durable, stream=self.stream
                    )
                try:
                    messages = await subscription.fetch(self.batch_size, timeout=self.fetch_timeout)
                except (FetchTimeoutError, NatsTimeoutError, TimeoutError):
                    raise_if_cancelling()
                    continue
                for message in messages:
                    await self.handle(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelling()
                log.warning(
                    "consumer loop error; retrying",
                    extra={"consumer": self.durable, "error": repr(exc)},
                )
                subscription = None
                await asyncio.sleep(1.0)

    async def handle(self, message: Msg) -> Outcome:
        outcome = await self._apply(message)
        HANDLED.labels(self.durable, outcome.value).inc()
        if outcome is Outcome.RETRY:
            await message.nak(delay=self.nak_delay)
        elif outcome is Outcome.DEAD_LETTERED:
            await message.term()
        else:
            await message.ack()
        return outcome

    async def _apply(self, message: Msg) -> Outcome:
        deliveries = message.metadata.num_delivered or 1
        try:
            envelope, payload = parse_event(message.data)
            handler = self.handlers.get(envelope.subject)
            if handler is None:
                raise UnknownEvent(f"{self.durable} has no handler for {envelope.subject}")
        except UnknownEvent as exc:
            log.error("unreadable event", extra={"consumer": self.durable, "reason": str(exc)})
            await self._dead_letter(message, str(exc))
            return Outcome.DEAD_LETTERED
        try:
            async with transaction(self.session_factory) as session:
                first_time = await session.scalar(
                    pg_insert(self.tables.inbox)
                    .values(consumer=self.durable, event_id=envelope.id, subject=envelope.subject)
                    .on_conflict_do_nothing()
                    .returning(self.tables.inbox.c.event_id)
                )
                if first_time is None:
                    return Outcome.DUPLICATE
                await handler(session, envelope, payload)
        except PermanentEventError as exc:
            await self._dead_letter(message, f"rejected by handler: {exc}")
            return Outcome.DEAD_LETTERED
        except Exception as exc:
            if deliveries >= self.max_deliveries:
                await self._dead_letter(message, f"failed {deliveries} times, last: {exc!r}")
                return Outcome.DEAD_LETTERED
            log.warning(
                "event handling failed; will retry",
                extra={"consumer": self.durable, "event_id": str(envelope.id), "error": repr(exc)},
            )
            return Outcome.RETRY
        return Outcome.PROCESSED

    async def _dead_letter(self, message: Msg, reason: str) -> None:
        metadata = message.metadata
        async with transaction(self.session_factory) as session:
            await session.execute(
                insert(self.tables.dead_letters).values(
                    consumer=self.durable,
                    stream=metadata.stream or self.stream,
                    stream_sequence=metadata.sequence.stream if metadata.sequence else 0,
                    subject=message.subject,
                    deliveries=metadata.num_delivered or 1,
                    data=message.data,
                    reason=reason[:2000],
                )
            )
