"""Observability: a `traceparent` sent with an HTTP request reaches the event it writes (its
envelope, as published on JetStream) and the consumer that applies it (its context and logs,
with the event id); the metrics carry the labels operators query by."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import nats
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.app import create_app
from shared.consumer import EventConsumer
from shared.events import EventEnvelope, Payload
from shared.messaging_metrics import sample
from shared.observability import current_traceparent, event_id_var
from shared.topology import ensure_consumer
from tests.helpers import eventually, running
from tests.shared.conftest import Plumbing

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


async def test_a_request_trace_reaches_the_event_and_its_consumer(
    make_settings: Any, token: Any, nats_url: str, plumbing: Plumbing
) -> None:
    seen: list[dict[str, Any]] = []

    async def handler(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
        record = logging.LogRecord("test", logging.INFO, __file__, 1, "applying", None, None)
        logging.getLogger().handlers[0].filter(record)  # what the service's log lines get
        seen.append({"traceparent": current_traceparent(), "event_id": event_id_var.get(),
                     "log": vars(record)})  # fmt: skip

    app = create_app(make_settings("registry"))
    async with running(app) as client:
        r = await client.post(
            "/v1/editions",
            json={"preset": "2017"},
            headers={**token("operator"), "traceparent": TRACEPARENT, "X-Request-ID": "req-42"},
        )
        assert r.status_code == 201, r.text
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()

            async def published() -> dict[str, Any] | None:
                info = await js.stream_info("REGISTRY")
                if not info.state.messages:
                    return None
                found: dict[str, Any] = json.loads((await js.get_msg("REGISTRY", 1)).data or b"")
                return found

            envelope = await eventually(published)
            assert envelope["type"] == "registry.edition.created"
            assert envelope["trace"]["traceparent"] == TRACEPARENT
            consumer = EventConsumer(
                durable=f"trace-{uuid.uuid4().hex[:6]}", producer="registry",
                handlers={"registry.edition.created.v1": handler},
                session_factory=plumbing.sessions, tables=plumbing.tables, bus=plumbing.bus,
                fetch_timeout=0.2,
            )  # fmt: skip
            await ensure_consumer(js, consumer.stream, consumer.config)
            batch = await (await js.pull_subscribe_bind(consumer.durable, "REGISTRY")).fetch(1)
            assert await consumer.handle_batch(batch)
        finally:
            await nc.close()
        metrics = (await client.get("/metrics")).text
    assert seen[0]["traceparent"] == TRACEPARENT  # the consumer continues the request's trace
    assert seen[0]["event_id"] == envelope["id"]
    assert seen[0]["log"]["event_id"] == envelope["id"]
    assert seen[0]["log"]["trace_id"] == TRACE_ID
    assert (
        'http_request_duration_seconds_count{method="POST",route="/v1/editions",'
        'service="registry"}' in metrics
    )


async def test_messaging_gauges_carry_service_and_consumer_labels(
    plumbing: Plumbing, nats_url: str
) -> None:
    from services.scoring.models import tables

    async with plumbing.sessions() as session, session.begin():
        await session.execute(
            tables.outbox.insert().values(
                event_id=uuid.uuid4(), subject="scoring.scores.updated.v1", envelope={}
            )
        )

    async def nothing(session: AsyncSession, envelope: EventEnvelope, payload: Payload) -> None:
        return None

    consumer = EventConsumer(
        durable="lagging", producer="registry", handlers={"registry.edition.created.v1": nothing},
        session_factory=plumbing.sessions, tables=plumbing.tables, bus=plumbing.bus,
    )  # fmt: skip
    await ensure_consumer(plumbing.bus.js, consumer.stream, consumer.config)
    for i in range(3):
        await plumbing.bus.js.publish("registry.edition.created.v1", b"{}",
                                      headers={"Nats-Msg-Id": f"lag-{i}"})  # fmt: skip
    await sample("scoring", plumbing.sessions, plumbing.tables, [consumer], plumbing.bus)
    assert REGISTRY.get_sample_value("outbox_pending_rows", {"service": "scoring"}) == 1
    oldest = REGISTRY.get_sample_value("outbox_oldest_pending_seconds", {"service": "scoring"})
    assert oldest is not None
    assert oldest >= 0
    assert REGISTRY.get_sample_value("consumer_pending_messages", {"consumer": "lagging"}) == 3
    assert REGISTRY.get_sample_value("dead_letters", {"consumer": "lagging"}) == 0
    assert REGISTRY.get_sample_value("nats_connected", {"service": "scoring"}) == 1
