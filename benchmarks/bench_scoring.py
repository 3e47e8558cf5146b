"""Scoring benchmark: validated audits scored per second end to end (published on JetStream →
committed aggregates and outbox), for 10,000 and 400,000 audits in one edition, beside the
rate at which a bare nats-py pull consumer fetches and acks the same messages.

    python benchmarks/bench_scoring.py [--audits 10000 400000] [--batch 500]

standalone starts an embedded PostgreSQL (fsync off, as in the tests) and NATS. Under the
harness, `run(ctx)` uses the run's servers (`ctx.database_url` / `ctx.nats_url`, or
`ctx.admin_url` + `ctx.fresh_database()`), and `ctx.audits` when given.

Two scoring paths are measured:
- `batch`: the events of each JetStream fetch through `EventConsumer.handle_batch` with the
  scoring application's batch handler (each message parsed once, bulk inbox insert,
  `ScoringApplication.apply_batch`, one transaction, acks after commit), the next batch
  fetched while one is applied, as `EventConsumer.run` does;
- `service`: the scoring service as wired (its consumer loop, relay and maintenance), on a
  smaller sample, for the record.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: the project root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import select

from barometer_cli.nats_setup import reset_topology, settings_from_environment
from benchmarks.harness import Row
from services.scoring.aggregates.service import BatchOptions, ScoringApplication, settle
from services.scoring.consumers import SUBJECTS
from services.scoring.models import EditionState, tables
from services.scoring.settings import ScoringSettings
from shared.consumer import EventConsumer
from shared.db import create_engine, create_session_factory, transaction
from shared.messaging import MessageBus
from shared.outbox import Outbox
from shared.settings import ServiceSettings

DEFAULT_AUDITS = (10_000, 400_000)
SERVICE_SAMPLE = 1_000
AUDITS_PER_STRUCTURE = 13  # 4 e-mails, 4 calls, 1 answering machine, 3 letters, 1 website
CHANNEL_PLAN = ["email"] * 4 + ["phone"] * 4 + ["answering_machine"] + ["letter"] * 3 + ["website"]
STRATA = ["cities-3500-10k", "cities-10k-20k", "cities-20k-50k", "cities-50k-100k",
          "cities-100k-plus", "intercommunalities"]  # fmt: skip
TYPES = ["city_hall", "intercommunality", "france_services"]


def row(name: str, value: float, unit: str, reference: float | None = None) -> Row:
    return Row(name=name, value=value, unit=unit, reference=reference)


# --- synthetic edition ----------------------------------------------------------------------


def grid_payload(channel: str, code: str) -> dict[str, Any]:
    yes_no = {"points": {"true": "1", "false": "0"}, "curve": [], "otherwise_points": "0"}

    def item(code: str, criterion: str, step: str, kind: str, rule: Any, weight: str,
             **extra: Any) -> dict[str, Any]:  # fmt: skip
        return {"code": code, "label_fr": code, "label_en": code, "criterion": criterion,
                "journey_step": step, "answer_type": kind, "rule": rule, "weight": weight,
                "mandatory": True, "not_applicable_allowed": True, "scale_max": None, **extra}  # fmt: skip

    items = [
        item("answered", "reactivity", "processing", "yes_no", yes_no, "3"),
        item("delay", "reactivity", "processing", "delay_working_days",
             {"points": {}, "curve": [{"up_to": "5", "points": "1"},
                                      {"up_to": "10", "points": "0.5"}], "otherwise_points": "0"},
             "2"),
        item("named", "courtesy", "reception_information_orientation", "yes_no", yes_no, "1"),
        item("clarity", "information", "reception_information_orientation", "scale",
             {"points": {str(i): str(i) for i in range(5)}, "curve": [], "otherwise_points": "0"},
             "2", scale_max=4),
        item("rings", "access", "access", "duration_rings",
             {"points": {}, "curve": [{"up_to": "5", "points": "1"}], "otherwise_points": "0"},
             "1"),
        item("transfers", "orientation", "reception_information_orientation", "count",
             {"points": {}, "curve": [{"up_to": "0", "points": "1"}, {"up_to": "2", "points": "0.5"}],
              "otherwise_points": "0"}, "1"),
        item("polite", "courtesy", "reception_information_orientation", "yes_no", yes_no, "1"),
        item("orientation", "orientation", "reception_information_orientation", "yes_no",
             yes_no, "1"),
    ]  # fmt: skip
    return {"code": code, "version": 1, "channel": channel, "rules_version": "rules-1",
            "items": items}  # fmt: skip


def envelope(subject: str, payload: dict[str, Any], edition: str | None) -> tuple[str, bytes]:
    event_type, _, version = subject.rpartition(".v")
    event_id = str(uuid.uuid4())
    body = {
        "id": event_id, "type": event_type, "schema_version": int(version),
        "occurred_at": datetime.now(UTC).isoformat(), "edition": edition,
        "producer": "fieldwork", "payload": payload,
    }  # fmt: skip
    return event_id, json.dumps(body, separators=(",", ":")).encode()


def edition_events(
    n: int, seed: int = 1, *, shuffled: bool = True
) -> tuple[str, list[tuple[str, str, bytes]]]:
    """An edition of `n` validated audits (13 per structure) and its 5 grids, the audits in
    random order (as fieldwork validates them over months) unless `shuffled` is false."""
    rng = random.Random(seed)
    edition = str(uuid.uuid4())
    tag = edition[:8]
    out: list[tuple[str, str, bytes]] = []
    for channel in sorted(set(CHANNEL_PLAN)):
        subject = "fieldwork.grid.published.v1"
        event_id, data = envelope(subject, grid_payload(channel, f"{channel}-{tag}"), None)
        out.append((subject, event_id, data))
    validated_at = datetime(2026, 10, 1, tzinfo=UTC).isoformat()
    subject = "fieldwork.audit.validated.v2"
    for i in range(n):
        s = i // AUDITS_PER_STRUCTURE
        channel = CHANNEL_PLAN[i % AUDITS_PER_STRUCTURE]
        structure_id = str(uuid.UUID(int=(s + 1) << 64 | int(tag, 16)))
        answers = [
            {"item_code": "answered", "value": rng.random() < 0.7, "not_applicable": False},
            {"item_code": "delay", "value": str(rng.randint(0, 15)), "not_applicable": False},
            {"item_code": "named", "value": rng.random() < 0.6, "not_applicable": False},
            {"item_code": "clarity", "value": str(rng.randint(0, 4)), "not_applicable": False},
            {"item_code": "rings", "value": None, "not_applicable": True}
            if channel != "phone" else
            {"item_code": "rings", "value": str(rng.randint(1, 9)), "not_applicable": False},
            {"item_code": "transfers", "value": str(rng.randint(0, 3)), "not_applicable": False},
            {"item_code": "polite", "value": rng.random() < 0.8, "not_applicable": False},
            {"item_code": "orientation", "value": rng.random() < 0.5, "not_applicable": False},
        ]  # fmt: skip
        payload = {
            "audit_id": str(uuid.uuid4()), "revision": 1, "edition_id": edition,
            "structure_id": structure_id, "structure_type": TYPES[s % len(TYPES)],
            "stratum_code": STRATA[s % len(STRATA)], "certified": s % 4 == 0,
            "site_id": structure_id, "channel": channel, "scenario_code": None,
            "grid_code": f"{channel}-{tag}", "grid_version": 1, "answers": answers,
            "validated_at": validated_at,
        }  # fmt: skip
        event_id, data = envelope(subject, payload, edition)
        out.append((subject, event_id, data))
    if shuffled:
        audits = out[5:]
        rng.shuffle(audits)
        out[5:] = audits
    return edition, out


async def publish_all(js: JetStreamContext, events: Sequence[tuple[str, str, bytes]]) -> None:
    """Publish with bounded in-flight acknowledgements (JetStream stores every one)."""
    for start in range(0, len(events), 2000):
        for subject, event_id, data in events[start : start + 2000]:
            await js.publish_async(subject, data, headers={"Nats-Msg-Id": event_id})
        await js.publish_async_completed()


# --- measurements ---------------------------------------------------------------------------


async def bare_rate(js: JetStreamContext, n: int, batch: int) -> float:
    durable = f"bench-bare-{uuid.uuid4().hex[:6]}"
    await js.add_consumer("FIELDWORK", ConsumerConfig(
        durable_name=durable, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
        filter_subjects=["fieldwork.>"], max_ack_pending=max(1000, 4 * batch)))  # fmt: skip
    subscription = await js.pull_subscribe_bind(durable=durable, stream="FIELDWORK")
    got = 0
    started = time.perf_counter()
    while got < n:
        messages = await subscription.fetch(batch, timeout=5)
        for message in messages:
            await message.ack()
        got += len(messages)
    await js._nc.flush()
    elapsed = time.perf_counter() - started
    await js.delete_consumer("FIELDWORK", durable)
    return n / elapsed


async def batch_rate(
    js: JetStreamContext, database_url: str, nats_url: str, n: int, batch: int, edition: str
) -> tuple[float, dict[str, int]]:
    """The scoring consumer's path, batch by batch: `EventConsumer.handle_batch` (each message
    parsed once, bulk inbox insert, `ScoringApplication.apply_batch`, one transaction, acks
    after commit) over JetStream fetches, the next batch fetched while one is applied (as
    `EventConsumer.run` does), until every event is committed and the edition's group
    statistics are settled; returns (events/s, counts)."""
    settings = ScoringSettings(environment="test", database_url=database_url, nats_url=nats_url)
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    bus = MessageBus(nats_url, name="bench-scoring")
    await bus.connect()
    outbox = Outbox(tables.outbox)
    app = ScoringApplication(outbox, BatchOptions(
        group_refresh_seconds=settings.group_refresh_seconds,
        publish_audit_scores=settings.publish_audit_scores))  # fmt: skip
    consumer = EventConsumer(
        durable=f"bench-scoring-{uuid.uuid4().hex[:6]}", producer="fieldwork",
        session_factory=sessions, tables=tables, bus=bus, batch_handler=app.apply_batch,
        subjects=SUBJECTS, batch_size=batch, fetch_timeout=5, ack_wait=120,
    )  # fmt: skip
    await bus.js.add_consumer("FIELDWORK", ConsumerConfig(
        durable_name=consumer.durable, ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL, filter_subjects=list(SUBJECTS), ack_wait=120,
        max_ack_pending=4 * batch))  # fmt: skip
    subscription = await bus.js.pull_subscribe_bind(durable=consumer.durable, stream="FIELDWORK")
    done = 0
    started = time.perf_counter()
    pending = asyncio.create_task(subscription.fetch(batch, timeout=5))
    while done < n:
        messages = await pending
        if done + len(messages) < n:  # fetch the next batch while this one is applied
            pending = asyncio.create_task(subscription.fetch(batch, timeout=5))
        assert await consumer.handle_batch(messages)
        done += len(messages)
    async with transaction(sessions) as session:  # the idle flush: groups settled too
        generation = await session.scalar(
            select(EditionState.generation).where(EditionState.edition_id == uuid.UUID(edition))
        )
        await settle(outbox, session, int(generation or 1), uuid.UUID(edition))
    elapsed = time.perf_counter() - started
    await bus.flush()
    await bus.js.delete_consumer("FIELDWORK", consumer.durable)
    await bus.close()
    await engine.dispose()
    conn = await asyncpg.connect(database_url)
    try:
        counts = {
            "audits": await conn.fetchval("SELECT count(*) FROM scoring.audits WHERE status='scored'"),
            "structures": await conn.fetchval("SELECT count(*) FROM scoring.structure_scores"),
            "outbox": await conn.fetchval("SELECT count(*) FROM scoring.outbox"),
            "dead_letters": await conn.fetchval("SELECT count(*) FROM scoring.dead_letters"),
        }  # fmt: skip
    finally:
        await conn.close()
    return n / elapsed, counts


def bench_settings_of(name: str) -> ServiceSettings:
    """The streams and durables as `barometer nats setup` declares them (test settings)."""
    return settings_from_environment(name, environment="test")


async def service_rate(database_url: str, nats_url: str, n: int) -> float:
    """The scoring service as wired, in-process, over `n` events."""
    from services.scoring.app import create_app

    settings = ScoringSettings(environment="test", database_url=database_url, nats_url=nats_url)
    app = create_app(settings)
    started = time.perf_counter()
    async with app.router.lifespan_context(app):
        conn = await asyncpg.connect(database_url)
        try:
            while (await conn.fetchval("SELECT count(*) FROM scoring.inbox")) < n:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        finally:
            await conn.close()
        elapsed = time.perf_counter() - started
    return n / elapsed


async def one_size(
    database_url: str, nats_url: str, audits: int, batch: int
) -> tuple[list[Row], float]:
    edition, events = edition_events(audits)
    nc = await nats.connect(nats_url)
    js = nc.jetstream(timeout=30)
    await reset_topology(nats_url, bench_settings_of)
    await publish_all(js, events)
    bare = await bare_rate(js, len(events), batch)
    scored, counts = await batch_rate(js, database_url, nats_url, len(events), batch, edition)
    await nc.close()
    assert counts["audits"] >= audits, counts
    assert counts["dead_letters"] == 0, counts
    label = f"{audits:,} audits"
    rows = [
        row(f"scoring: validated audits scored, end to end ({label}, batches of {batch})",
            scored, "audits/s", bare),
        row(f"bare nats-py pull consumer, fetch+ack ({label})", bare, "msgs/s"),
        row(f"scoring: cost per audit ({label})", 1e6 / scored, "µs"),
    ]  # fmt: skip
    return rows, 1e6 / scored


async def measure(
    fresh_database: Any, nats_url: str, sizes: Sequence[int], batch: int
) -> list[Row]:
    rows: list[Row] = []
    costs: dict[int, float] = {}
    for audits in sizes:
        size_rows, costs[audits] = await one_size(await fresh_database(), nats_url, audits, batch)
        rows.extend(size_rows)
    if len(sizes) >= 2:
        small, large = min(sizes), max(sizes)
        rows.append(row(f"scoring: cost per audit at {large:,} / at {small:,}",
                        costs[large], "µs", costs[small]))  # fmt: skip
    # The service's own consumer (per-event adapter in this branch), on a sample.
    database_url = await fresh_database()
    _, events = edition_events(SERVICE_SAMPLE, seed=2)
    nc = await nats.connect(nats_url)
    js = nc.jetstream(timeout=30)
    await reset_topology(nats_url, bench_settings_of)
    await publish_all(js, events)
    await nc.close()
    per_event = await service_rate(database_url, nats_url, len(events))
    rows.append(row(f"scoring service consumer as wired (batch handler on the shared consumer, "
                    f"{SERVICE_SAMPLE:,} audits)", per_event, "audits/s"))  # fmt: skip
    return rows


async def run(ctx: Any) -> list[Row]:
    """The harness's entry point (see the module's docstring for what `ctx` may carry)."""
    sizes = tuple(getattr(ctx, "audits", None) or DEFAULT_AUDITS)
    scale = float(getattr(ctx, "scale", 1.0) or 1.0)
    sizes = tuple(max(100, int(s * scale)) for s in sizes)
    batch = int(getattr(ctx, "batch", None) or ScoringSettings().consumer_batch_size)
    if hasattr(ctx, "fresh_database"):
        fresh = ctx.fresh_database
    else:
        database_url = ctx.database_url

        async def fresh() -> str:
            return str(database_url)

    return await measure(fresh, ctx.nats_url, sizes, batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audits", type=int, nargs="+", default=list(DEFAULT_AUDITS))
    parser.add_argument("--batch", type=int, default=ScoringSettings().consumer_batch_size)
    args = parser.parse_args()

    from barometer_cli.catalog import migrate_all
    from barometer_cli.embedded import EmbeddedNats, EmbeddedPostgres

    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", durable=False)
        server = EmbeddedNats(Path(tmp) / "nats")
        pg.start()
        server.start()
        try:
            admin = pg.url

            async def fresh() -> str:
                name = f"bench_{uuid.uuid4().hex[:10]}"
                conn = await asyncpg.connect(admin)
                try:
                    await conn.execute(f'CREATE DATABASE "{name}"')
                finally:
                    await conn.close()
                url = admin.rpartition("/")[0] + "/" + name
                await asyncio.to_thread(migrate_all, url)
                return url

            rows = [
                r.as_json()
                for r in asyncio.run(measure(fresh, server.url, args.audits, args.batch))
            ]
        finally:
            server.stop()
            pg.stop()
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'value':>12}  unit       {'reference':>10}  ratio")
    for r in rows:
        ref = "" if r.get("reference") is None else f"{r['reference']:>10,.0f}"
        ratio = "" if r.get("ratio") is None else f"{r['ratio']:.2f}"
        print(f"{r['name']:<{width}}  {r['value']:>12,.1f}  {r['unit']:<9}  {ref:>10}  {ratio}")
    out = Path(__file__).resolve().parent.parent / ".bench" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
