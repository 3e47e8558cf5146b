"""SIGKILL the scoring process in the middle of its work, at several points, restart it, and
find every aggregate equal to the from-scratch figures: nothing lost, nothing counted twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import nats

from barometer_cli.embedded import free_port, stop_process
from services.scoring.aggregates.rules import ScoringSettings
from shared.db import create_engine, create_session_factory
from tests.conftest import Infra, SettingsFactory
from tests.scoring.conftest import figures
from tests.scoring.factory import CHANNELS, audit, event, grid, structure
from tests.scoring.reference import from_scratch

AUDITS = 300


def start(database_url: str, nats_url: str, infra: Infra, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "ENVIRONMENT": "test",
        "BAROMETER_DATA_DIR": str(infra.data_dir),
        "SCORING_PORT": str(free_port()),
        "SCORING_GROUP_REFRESH_SECONDS": "0",
        # Small batches: the stream takes many transactions, so the kills land between and
        # inside them (a default batch would take the whole stream in one).
        "SCORING_CONSUMER_BATCH_SIZE": "8",
        "SCORING_CONSUMER_NAK_DELAY_SECONDS": "0.2",
        "SCORING_OUTBOX_POLL_SECONDS": "0.05",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.scoring"], env=env, stdout=out, stderr=out
        )


async def processed(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM scoring.inbox") or 0)
    finally:
        await conn.close()


async def test_sigkill_mid_batch_loses_and_double_counts_nothing(
    infra: Infra, database_url: str, nats_url: str, make_settings: SettingsFactory, tmp_path: Path
) -> None:
    edition_id = uuid.uuid4()
    rng = random.Random(11)
    codes = {c: f"{c}-{edition_id.hex[:10]}" for c in CHANNELS}
    structures = [structure(edition_id, i) for i in range(12)]
    events = [event(grid(codes[c], c)) for c in CHANNELS]
    for n in range(AUDITS):
        s = rng.choice(structures)
        channel = rng.choice(CHANNELS)
        audit_id = uuid.uuid5(edition_id, f"audit-{n}")
        for revision in range(1, 1 + (2 if n % 7 == 0 else 1)):
            events.append(event(audit(edition_id, s, codes[channel], channel, rng,
                                      audit_id=audit_id, revision=revision), edition_id))  # fmt: skip
    rng.shuffle(events)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for envelope, _ in events:
        await js.publish(envelope.subject, envelope.model_dump_json().encode(),
                         headers={"Nats-Msg-Id": str(envelope.id)})  # fmt: skip
    await nc.close()

    log = tmp_path / "scoring.log"
    kills = 0
    for share in (0.15, 0.4, 0.7):  # kill at several points of the stream
        process = start(database_url, nats_url, infra, log)
        try:
            while await processed(database_url) < share * len(events):
                assert process.poll() is None, log.read_text()[-3000:]
                await asyncio.sleep(0.02)
            await asyncio.sleep(rng.random() * 0.05)  # land somewhere inside a transaction
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            kills += 1
        finally:
            if process.poll() is None:
                process.kill()
    assert kills == 3
    assert await processed(database_url) < len(events)

    process = start(database_url, nats_url, infra, log)
    try:
        for _ in range(1200):
            if await processed(database_url) == len(events):
                break
            assert process.poll() is None, log.read_text()[-3000:]
            await asyncio.sleep(0.1)
        assert await processed(database_url) == len(events)
    finally:
        stop_process(process, signal.SIGTERM, timeout=15)

    engine = create_engine(make_settings("scoring"))
    try:
        structures_now, groups_now, _ = await figures(create_session_factory(engine), edition_id)
    finally:
        await engine.dispose()
    expected_structures, expected_groups = from_scratch(events, ScoringSettings())
    assert structures_now == expected_structures
    assert groups_now == expected_groups
