"""Scoring and reporting as two processes each, members of the same durable consumers, fed
with crafted events published straight to JetStream: many copies of each event, and each
structure's validation revisions arriving in reverse order, grids after their audits.
First, without faults, every event is applied once by one member or the other; then members
are SIGKILLed at random (seeded) points while events flow, and restarted. Both times every
figure of scoring and reporting equals the computation from scratch."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from barometer_cli.embedded import EmbeddedNats
from tests.conftest import Infra
from tests.e2e.checks import SCORING_SUBJECTS, assert_figures_from_scratch, until_settled
from tests.e2e.conftest import set_up_streams
from tests.e2e.processes import ServiceProcess, service_process, stop_all, wait_all_ready
from tests.e2e.streams import phase_events, publish
from tests.scoring.factory import CHANNELS, Event

STRUCTURES = 8
AUDITS = 50  # per phase; one in four validated three times (revisions 1-3)


async def applied_by_scoring(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM scoring.inbox") or 0)
    finally:
        await conn.close()


@pytest.fixture
def durable_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats", sync_always=True)
    server.start()
    set_up_streams(server.url)
    yield server
    server.stop()


async def test_two_members_per_durable_and_sigkills_count_each_event_once(
    infra: Infra, database_url: str, durable_nats: EmbeddedNats, tmp_path: Path
) -> None:
    rng = random.Random(12)
    edition_id = uuid.uuid4()
    codes = {c: f"{c}-{edition_id.hex[:10]}" for c in CHANNELS}

    def member(service: str, n: int, **settings: str) -> ServiceProcess:
        return service_process(
            service, database_url=database_url, nats_url=durable_nats.url,
            data_dir=infra.data_dir, logs=tmp_path / "logs", label=f"{service}-{n}", **settings,
        )  # fmt: skip

    # Small batches: many transactions, several members busy at once, kills land inside them.
    members = [member("scoring", n, CONSUMER_BATCH_SIZE="8", GROUP_REFRESH_SECONDS="0")
               for n in (1, 2)]  # fmt: skip
    members += [member("reporting", n, CONSUMER_BATCH_SIZE="8") for n in (1, 2)]
    first, first_messages = phase_events(
        edition_id, rng, 1, codes, structures=STRUCTURES, audits=AUDITS
    )
    second, second_messages = phase_events(
        edition_id, rng, 2, codes, structures=STRUCTURES, audits=AUDITS
    )
    try:
        for m in members:
            m.start()
        wait_all_ready(members)

        # 1. No fault: the members share the work, and each event is applied exactly once.
        await publish(durable_nats.url, first_messages)
        await until_settled(database_url, first)
        await assert_figures_from_scratch(database_url, edition_id, first)
        scoring_ids = {e.id for e, _ in first if e.subject in SCORING_SUBJECTS}
        audit_ids = {e.id for e, _ in first if e.subject != "fieldwork.grid.published.v1"}
        for durable, expected in (("scoring-fieldwork", scoring_ids),
                                  ("reporting-fieldwork", audit_ids)):  # fmt: skip
            counts = [m.counter("consumer_messages", consumer=durable, outcome="processed")
                      for m in members if durable.startswith(m.service)]  # fmt: skip
            assert sum(counts) == len(expected), (durable, counts)
            assert all(c > 0 for c in counts), f"a member of {durable} did nothing: {counts}"

        # 2. SIGKILLs at seeded random points while the second half flows, each member
        # restarted at once (the other member of its durable carries on meanwhile).
        publishing = asyncio.create_task(publish(durable_nats.url, second_messages))
        total = len(scoring_ids) + len(second)
        scorers, reporters = members[:2], members[2:]
        victims = [rng.choice(scorers), rng.choice(reporters), rng.choice(members)]
        kills = []
        for share, victim in zip(
            sorted(rng.uniform(0.1, 0.8) for _ in victims), victims, strict=True
        ):
            point = len(scoring_ids) + int(share * len(second))
            deadline = time.monotonic() + 120
            while await applied_by_scoring(database_url) < point:
                assert time.monotonic() < deadline, f"scoring stalled before {point} events"
                assert all(m.running for m in members), [m.tail() for m in members]
                await asyncio.sleep(0.02)
            victim.kill()
            kills.append((victim.label, await applied_by_scoring(database_url)))
            victim.start()
        await publishing
        assert all(applied < total for _, applied in kills), f"killed after the flow: {kills}"
        wait_all_ready(members)
        await until_settled(database_url, first + second)
        await assert_figures_from_scratch(database_url, edition_id, first + second)
        await assert_highest_revisions_kept(database_url, edition_id, first + second)
    finally:
        stop_all(members)


async def assert_highest_revisions_kept(
    database_url: str, edition_id: uuid.UUID, events: list[Event]
) -> None:
    """Every validated audit is in scoring and in reporting, at its highest revision."""
    expected: dict[uuid.UUID, int] = {}
    for _, payload in events:
        audit_id, revision = getattr(payload, "audit_id", None), getattr(payload, "revision", 0)
        if audit_id is not None:
            expected[audit_id] = max(expected.get(audit_id, 0), revision)
    conn = await asyncpg.connect(database_url)
    try:
        for schema in ("scoring", "reporting"):
            rows = await conn.fetch(
                f"SELECT audit_id, revision FROM {schema}.audits WHERE edition_id = $1",
                edition_id,
            )
            assert {r["audit_id"]: r["revision"] for r in rows} == expected, schema
    finally:
        await conn.close()
