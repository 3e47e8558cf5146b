"""Transactional outbox: events are written with the state change, then relayed to JetStream.

The relay takes unpublished rows with `FOR UPDATE SKIP LOCKED` rather than following a
high-water mark, so a transaction that commits after a later one is never skipped, and
several relay processes can run side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid

from prometheus_client import Counter
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.consumer import raise_if_cancelling
from shared.db import transaction
from shared.events import EventEnvelope, Payload, new_event
from shared.messaging import MessageBus, ensure_stream

log = logging.getLogger(__name__)

PUBLISHED = Counter("outbox_published_total", "Events relayed from the outbox to JetStream")
PUBLISH_FAILURES = Counter("outbox_publish_failures_total", "Failed JetStream publications")


class Outbox:
    """Writes events into a service's outbox table inside the caller's transaction."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._wake = asyncio.Event()

    async def add(
        self, session: AsyncSession, payload: Payload, *, edition: uuid.UUID | None
    ) -> EventEnvelope:
        envelope = new_event(payload, edition=edition)
        await session.execute(
            insert(self.table).values(
                event_id=envelope.id,
                subject=envelope.subject,
                envelope=envelope.model_dump(mode="json"),
            )
        )
        return envelope

    def notify(self) -> None:
        """Wake the relay early (after a commit); it also polls, so this is only a speed-up."""
        self._wake.set()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        session_factory: async_sessionmaker[AsyncSession],
        bus: MessageBus,
        *,
        producer: str,
        batch_size: int = 100,
        poll_seconds: float = 0.2,
        publish_timeout: float = 2.0,
    ) -> None:
        self.outbox = outbox
        self.table = outbox.table
        self.session_factory = session_factory
        self.bus = bus
        self.producer = producer
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.publish_timeout = publish_timeout
        self._stream_ready = False

    async def run(self) -> None:
        await self.bus.wait_connected()
        backoff = self.poll_seconds
        while True:
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

    async def relay_once(self) -> int:
        """Publish one batch of pending events; returns how many JetStream acknowledged."""
        js = self.bus.js
        if not self._stream_ready:
            await ensure_stream(js, self.producer)
            self._stream_ready = True
        t = self.table
        published = 0
        async with transaction(self.session_factory) as session:
            rows = (
                await session.execute(
                    select(t.c.id, t.c.event_id, t.c.subject, t.c.envelope)
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                try:
                    ack = await js.publish(
                        row.subject,
                        json.dumps(row.envelope, separators=(",", ":")).encode(),
                        headers={"Nats-Msg-Id": str(row.event_id)},
                        timeout=self.publish_timeout,
                    )
                except Exception as exc:
                    PUBLISH_FAILURES.inc()
                    await session.execute(
                        update(t)
                        .where(t.c.id == row.id)
                        .values(attempts=t.c.attempts + 1, last_error=str(exc)[:500] or repr(exc))
                    )
                    # Keep the rows already acknowledged; the rest waits for the next round.
                    log.warning(
                        "publish failed", extra={"subject": row.subject, "error": repr(exc)}
                    )
                    break
                await session.execute(
                    update(t)
                    .where(t.c.id == row.id)
                    .values(
                        published_at=func.now(),
                        stream_sequence=ack.seq,
                        attempts=t.c.attempts + 1,
                        last_error=None,
                    )
                )
                published += 1
        PUBLISHED.inc(published)
        if rows and published < len(rows):
            raise RuntimeError(f"published {published} of {len(rows)} pending events")
        return published
