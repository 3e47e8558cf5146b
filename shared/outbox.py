"""Transactional outbox: events are written with the state change, then relayed to JetStream.

A relay round claims up to `batch_size` unpublished rows with `FOR UPDATE SKIP LOCKED`, sends
them all with `publish_async` (one pipeline, in id order), waits for JetStream's acks together
(bounded by `publish_timeout`), and marks every row with ONE statement before it commits. The
row locks last one round, never longer; a second relay skips the rows this one holds. A relay
that dies mid-round leaves its rows pending: they are published again, and JetStream drops the
copy by its `Nats-Msg-Id` (the event id) within the stream's duplicate window. Nothing is
lost, since a row is marked only after JetStream acknowledged it.

Claiming rows rather than following a high-water mark means a transaction that commits after
a later one is never skipped. A row JetStream refuses is retried after a growing delay and,
after `max_attempts`, parked (`parked_at`): it no longer blocks or slows the rows behind it,
`parked_rows` lists it and `replay_parked` puts it back in line. When NATS is down or answers
nothing, no attempt is counted: the events wait in the outbox.

The relay is woken after every committed transaction that wrote the outbox (request or consumer
alike, through a session hook), and, in other processes, by PostgreSQL `NOTIFY`; it also polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import asyncpg
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError
from prometheus_client import Counter
from pydantic_core import to_json
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Insert,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from shared.consumer import raise_if_cancelling
from shared.db import transaction
from shared.events import EventEnvelope, Payload, new_event
from shared.messaging import PUBLISH_ASYNC_MAX_PENDING, MessageBus, NatsUnavailable
from shared.observability import trace_headers

log = logging.getLogger(__name__)

PUBLISHED = Counter("outbox_published_total", "Events relayed from the outbox to JetStream")
PUBLISH_FAILURES = Counter("outbox_publish_failures_total", "Failed JetStream publications")
PARKED = Counter("outbox_parked_total", "Outbox rows parked after too many failed attempts")

# PostgreSQL channel a committed outbox write notifies; the payload is the writer's schema.
NOTIFY_CHANNEL = "barometer_outbox"
# `Session.info` key: the outboxes written in the session's current transaction.
_WRITTEN = "barometer.outbox.written"


class Outbox:
    """Writes events into a service's outbox table inside the caller's transaction."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._wake = asyncio.Event()

    async def add(
        self, session: AsyncSession, payload: Payload, *, edition: uuid.UUID | None
    ) -> EventEnvelope:
        (envelope,) = await self.add_many(session, [payload], edition=edition)
        return envelope

    async def add_many(
        self, session: AsyncSession, payloads: Iterable[Payload], *, edition: uuid.UUID | None
    ) -> list[EventEnvelope]:
        """Several events in one statement (a consumer's batch announcing its changes)."""
        trace = trace_headers()  # the request's (or consumed event's) trace goes on
        envelopes = [new_event(payload, edition=edition, trace=trace) for payload in payloads]
        if not envelopes:
            return []
        await session.execute(
            insert(self.table),
            [
                {
                    "event_id": e.id,
                    "subject": e.subject,
                    "envelope": e.model_dump(
                        mode="json", exclude={"trace"} if e.trace is None else None
                    ),
                }
                for e in envelopes
            ],
        )
        await self._wake_after_commit(session)
        return envelopes

    async def add_encoded(
        self,
        session: AsyncSession,
        subject: str,
        payloads: Sequence[Mapping[str, Any]],
        *,
        edition: uuid.UUID | None,
    ) -> list[uuid.UUID]:
        """Several events of one subject whose payloads the caller built in their JSON form
        (what the contract's `model_dump(mode="json")` gives; `pydantic_core.to_json` types
        such as UUID and Decimal allowed): no model is built, validated and dumped again, and
        each envelope (the same fields as `new_event`'s) is encoded once. For hot paths that
        announce large figures (scoring's batches); `add_many` otherwise. Returns the ids."""
        if not payloads:
            return []
        event_type, _, version = subject.rpartition(".v")
        occurred_at = datetime.now(UTC)
        trace = trace_headers() or None  # as add_many: the consumed event's trace goes on
        ids = [uuid.uuid4() for _ in payloads]
        envelopes = [
            to_json(
                {
                    "id": event_id,
                    "type": event_type,
                    "schema_version": int(version),
                    "occurred_at": occurred_at,
                    "edition": edition,
                    "producer": event_type.split(".", 1)[0],
                    "payload": payload,
                    **({"trace": trace} if trace else {}),
                }
            ).decode()
            for event_id, payload in zip(ids, payloads, strict=True)
        ]
        await session.execute(
            self._encoded_insert, {"ids": ids, "subject": subject, "envelopes": envelopes}
        )
        await self._wake_after_commit(session)
        return ids

    @cached_property
    def _encoded_insert(self) -> Insert:
        rows = (
            func.unnest(
                bindparam("ids", type_=ARRAY(Uuid())), bindparam("envelopes", type_=ARRAY(Text()))
            )
            .table_valued("event_id", "envelope")
            .render_derived()
        )
        return insert(self.table).from_select(
            ["event_id", "subject", "envelope"],
            select(
                rows.c.event_id,
                bindparam("subject", type_=Text()),
                cast(rows.c.envelope, JSONB),
            ),
        )

    async def _wake_after_commit(self, session: AsyncSession) -> None:
        written: set[Outbox] | None = session.info.get(_WRITTEN)
        if written is None:
            # First outbox write of this transaction: relays of other processes hear of it
            # at commit (NOTIFY is transactional), this process's relay from the hook below.
            session.info[_WRITTEN] = written = set()
            await session.execute(select(func.pg_notify(NOTIFY_CHANNEL, func.current_schema())))
        written.add(self)

    def notify(self) -> None:
        """Wake the relay early (after a commit); it also polls, so this is only a speed-up."""
        self._wake.set()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()


@sa_event.listens_for(Session, "after_commit")
def _notify_relays(session: Session) -> None:
    for outbox in session.info.pop(_WRITTEN, ()):
        outbox.notify()


@sa_event.listens_for(Session, "after_rollback")
def _forget_writes(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


class _RoundFailed(RuntimeError):
    """JetStream acknowledged nothing this round (NATS down or unresponsive)."""


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        session_factory: async_sessionmaker[AsyncSession],
        bus: MessageBus,
        *,
        producer: str,
        batch_size: int = 500,
        poll_seconds: float = 0.2,
        publish_timeout: float = 5.0,
        max_attempts: int = 10,
        retry_delay: float = 1.0,
        max_retry_delay: float = 300.0,
        listen: bool = True,
    ) -> None:
        self.outbox = outbox
        self.table = outbox.table
        self.session_factory = session_factory
        self.bus = bus
        self.producer = producer
        self.batch_size = min(batch_size, PUBLISH_ASYNC_MAX_PENDING)
        self.poll_seconds = poll_seconds
        self.publish_timeout = publish_timeout
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.listen = listen
        self._stopping = asyncio.Event()
        self._mark = self._marking_statement()

    def stop(self) -> None:
        """Finish the round in hand, then leave `run`."""
        self._stopping.set()
        self.outbox.notify()

    async def run(self) -> None:
        await self.bus.wait_connected()
        listener = asyncio.create_task(self._listen()) if self.listen else None
        backoff = self.poll_seconds
        try:
            while not self._stopping.is_set():
                try:
                    relayed = await self.relay_once()
                    backoff = self.poll_seconds
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    raise_if_cancelling()
                    log.warning("outbox relay failed; will retry", extra={"error": str(exc)})
                    relayed = 0
                    backoff = min(backoff * 2, 5.0)
                    await asyncio.sleep(backoff)
                if relayed < self.batch_size:
                    await self.outbox.wait(self.poll_seconds)
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def relay_once(self) -> int:
        """Publish one round of pending events; returns how many JetStream acknowledged."""
        if not self.bus.is_connected:
            raise NatsUnavailable("not connected to NATS; events wait in the outbox")
        t = self.table
        async with transaction(self.session_factory) as session:
            rows = (
                await session.execute(
                    # The envelope as PostgreSQL prints it: no decoding and re-encoding here.
                    select(t.c.id, t.c.event_id, t.c.subject, cast(t.c.envelope, Text))
                    .where(
                        t.c.published_at.is_(None),
                        t.c.parked_at.is_(None),
                        or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= func.now()),
                    )
                    .order_by(t.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            results = await self._publish(rows)
            acked = [r for r in results if isinstance(r, PubAck)]
            if not acked and not any(_refused(r) for r in results):
                raise _RoundFailed(f"no ack for {len(rows)} events: {results[0]!r}")
            marks = await session.execute(
                self._mark,
                {
                    "ids": [row.id for row in rows],
                    "seqs": [r.seq if isinstance(r, PubAck) else None for r in results],
                    "errors": [
                        None if isinstance(r, PubAck) else (str(r) or repr(r))[:500]
                        for r in results
                    ],
                },
            )
            parked = sum(1 for m in marks if m.parked)
        failed = len(rows) - len(acked)
        PUBLISHED.inc(len(acked))
        if failed:
            PUBLISH_FAILURES.inc(failed)
            log.warning(
                "outbox rows not published",
                extra={
                    "failed": failed,
                    "parked": parked,
                    "error": next(str(r) or repr(r) for r in results if not isinstance(r, PubAck)),
                },
            )
        if parked:
            PARKED.inc(parked)
        return len(acked)

    async def _publish(self, rows: Sequence[Any]) -> list[PubAck | BaseException]:
        """Send every row (in order, pipelined) and collect each ack or error."""
        js = self.bus.js
        futures: list[asyncio.Future[PubAck]] = []
        loop = asyncio.get_running_loop()
        for row in rows:
            try:
                # No `wait_stall`: with one, nats-py yields to the event loop at each call and
                # the client flushes every message alone. The round stays under the client's
                # pending limit (PUBLISH_ASYNC_MAX_PENDING), so it never stalls.
                futures.append(
                    await js.publish_async(
                        row.subject,
                        row.envelope.encode(),
                        headers={"Nats-Msg-Id": str(row.event_id)},
                    )
                )
            except Exception as exc:
                raise_if_cancelling()
                failed: asyncio.Future[PubAck] = loop.create_future()
                failed.set_exception(exc)
                futures.append(failed)
        _, pending = await asyncio.wait(futures, timeout=self.publish_timeout)
        for future in pending:
            future.cancel()
        results: list[PubAck | BaseException] = []
        for future in futures:
            if future.cancelled():
                results.append(TimeoutError("no ack from JetStream in time"))
            elif (error := future.exception()) is not None:
                results.append(error)
            else:
                results.append(future.result())
        return results

    def _marking_statement(self) -> Any:
        """One UPDATE for the whole round: published rows get their stream sequence; failed
        ones count an attempt, wait a growing delay, and are parked after `max_attempts`."""
        t = self.table
        marks = (
            func.unnest(
                bindparam("ids", type_=ARRAY(BigInteger())),
                bindparam("seqs", type_=ARRAY(BigInteger())),
                bindparam("errors", type_=ARRAY(Text())),
            )
            .table_valued("id", "seq", "error")
            .render_derived()
        )
        ok = marks.c.seq.isnot(None)
        attempts = t.c.attempts + 1
        delay = func.least(self.retry_delay * func.power(2, t.c.attempts), self.max_retry_delay)
        give_up = and_(~ok, attempts >= self.max_attempts)
        return (
            update(t)
            .where(t.c.id == marks.c.id)
            .values(
                published_at=case((ok, func.now())),
                stream_sequence=marks.c.seq,
                attempts=attempts,
                last_error=marks.c.error,
                next_attempt_at=case(
                    (~ok, func.now() + func.make_interval(0, 0, 0, 0, 0, 0, delay))
                ),
                parked_at=case((give_up, func.now())),
            )
            .returning(t.c.id, t.c.parked_at.isnot(None).label("parked"))
        )

    async def _listen(self) -> None:
        """Wake on PostgreSQL NOTIFY from other processes writing this schema's outbox."""
        while True:
            try:
                async with self.session_factory() as session:
                    schema = str(await session.scalar(text("SELECT current_schema()")))
                    url = (await session.connection()).engine.url
                await self._listen_on(
                    url.set(drivername="postgresql").render_as_string(hide_password=False), schema
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # polling still relays; try again later
                log.info("outbox listener lost", extra={"error": repr(exc)})
            await asyncio.sleep(5)

    async def _listen_on(self, dsn: str, schema: str) -> None:
        def heard(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            if payload == schema:
                self.outbox.notify()

        connection = await asyncpg.connect(dsn)
        try:
            await connection.add_listener(NOTIFY_CHANNEL, heard)
            while not connection.is_closed():
                await asyncio.sleep(5)
                await connection.execute("SELECT 1")  # notice a lost connection
        finally:
            await connection.close(timeout=2)


def _refused(result: PubAck | BaseException) -> bool:
    """JetStream answered, and said no: a fault of this event, not an outage."""
    return isinstance(result, APIError | NoStreamResponseError)


@dataclass(frozen=True)
class ParkedRow:
    id: int
    event_id: uuid.UUID
    subject: str
    attempts: int
    last_error: str | None
    parked_at: datetime


async def parked_rows(session: AsyncSession, table: Table, *, limit: int = 100) -> list[ParkedRow]:
    """The outbox rows the relay gave up on, oldest first."""
    t = table
    rows = await session.execute(
        select(t.c.id, t.c.event_id, t.c.subject, t.c.attempts, t.c.last_error, t.c.parked_at)
        .where(t.c.parked_at.isnot(None), t.c.published_at.is_(None))
        .order_by(t.c.id)
        .limit(limit)
    )
    return [ParkedRow(**row._mapping) for row in rows]


async def replay_parked(
    session: AsyncSession, table: Table, ids: Sequence[int] | None = None
) -> int:
    """Put parked rows (all, or those of `ids`) back in line with a fresh attempt count;
    returns how many. Commit, then the relay picks them up in id order."""
    t = table
    statement = (
        update(t)
        .where(t.c.parked_at.isnot(None), t.c.published_at.is_(None))
        .values(parked_at=None, next_attempt_at=None, attempts=0)
        .returning(t.c.id)
    )
    if ids is not None:
        statement = statement.where(t.c.id.in_(list(ids)))
    return len((await session.execute(statement)).all())


__all__ = [
    "NOTIFY_CHANNEL",
    "Outbox",
    "OutboxRelay",
    "ParkedRow",
    "parked_rows",
    "replay_parked",
]
