"""SIGTERM under load: a real fieldwork process (uvicorn, as `barometer serve` runs it) is
stopped while operators create auditors and registrations flow in; it stops taking requests,
finishes those in flight and its consumer's batch, and exits. Nothing is lost: every auditor
answered 2xx exists, and after a restart every registration is planned exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
from nats.js.api import ConsumerInfo

from barometer_cli.dev import wait_ready
from barometer_cli.embedded import free_port, stop_process
from shared.events import new_event
from tests.conftest import Infra
from tests.fieldwork.conftest import ALL_CHANNELS, registration_v2
from tests.helpers import eventually

REGISTRATIONS = 60
TASKS_PER_SITE = 13  # the 2017 quotas of the test registration


def start(infra: Infra, database_url: str, nats_url: str, port: int, log: Path) -> Any:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "ENVIRONMENT": "test",
        "BAROMETER_DATA_DIR": str(infra.data_dir),
        "FIELDWORK_PORT": str(port),
        # Small batches: the stop lands in the middle of the stream.
        "FIELDWORK_CONSUMER_BATCH_SIZE": "4",
        "FIELDWORK_OUTBOX_POLL_SECONDS": "0.05",
        "FIELDWORK_SHUTDOWN_GRACE_SECONDS": "10",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.fieldwork"], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    wait_ready({"fieldwork": url}, {"fieldwork": process}, seconds=180)
    return process, url


async def count(database_url: str, sql: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_sigterm_under_load_loses_no_request_and_no_event(
    infra: Infra, database_url: str, nats_url: str, token: Any, tmp_path: Path
) -> None:
    log = tmp_path / "fieldwork.log"
    port = free_port()
    process, url = await asyncio.to_thread(start, infra, database_url, nats_url, port, log)
    operator = token("operator")
    created: list[str] = []
    refused = 0

    async def create_auditors() -> None:
        nonlocal refused
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            for i in range(10_000):
                try:
                    r = await client.post("/v1/auditors", headers=operator, json={
                        "pseudonym": f"Arret {i}", "home_departement_code": "44",
                        "channels": ALL_CHANNELS, "weekly_capacity": 5,
                        "linked_structure_ids": []})  # fmt: skip
                except httpx.TransportError:  # the listener is closed: the stop has begun
                    refused += 1
                    return
                assert r.status_code == 201, r.text
                created.append(r.json()["id"])

    edition_id = uuid.uuid4()
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        writer = asyncio.create_task(create_auditors())
        for _ in range(REGISTRATIONS):
            event = new_event(
                registration_v2(edition_id, uuid.uuid4(), [uuid.uuid4()]), edition=edition_id
            )
            await js.publish(event.subject, event.model_dump_json().encode(),
                             headers={"Nats-Msg-Id": str(event.id)})  # fmt: skip
        inbox = "SELECT count(*) FROM fieldwork.inbox"
        await eventually(lambda: _at_least(database_url, inbox, 8), within=60)
        await eventually(lambda: _true(len(created) >= 5), within=60)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 60)
        await asyncio.wait_for(writer, 30)
        text = log.read_text()
        # uvicorn re-raises the signal once its shutdown is complete
        assert code in (0, -signal.SIGTERM), text[-3000:]
        assert "service stopped" in text
        assert "did not stop" not in text
        applied_before_restart = await count(database_url, inbox)

        process, url = await asyncio.to_thread(start, infra, database_url, nats_url, port, log)
        try:
            await eventually(lambda: _at_least(database_url, inbox, REGISTRATIONS), within=120)

            async def drained() -> bool:
                info: ConsumerInfo = await js.consumer_info("REGISTRY", "fieldwork-registry")
                return info.num_pending == 0 and info.num_ack_pending == 0

            await eventually(drained, within=60)
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                for auditor_id in created:  # every 2xx write is there
                    r = await client.get(f"/v1/auditors/{auditor_id}", headers=operator)
                    assert r.status_code == 200, r.text
        finally:
            stop_process(process, signal.SIGTERM, timeout=30)
    finally:
        await nc.close()
    assert 0 < applied_before_restart < REGISTRATIONS  # the stop did land mid-stream
    assert await count(database_url, inbox) == REGISTRATIONS
    assert await count(database_url, "SELECT count(*) FROM fieldwork.dead_letters") == 0
    per_site = await _per_site(database_url, edition_id)
    assert len(per_site) == REGISTRATIONS
    assert set(per_site) == {TASKS_PER_SITE}  # each registration planned once, not twice
    assert await count(database_url, "SELECT count(*) FROM fieldwork.auditors") == len(created)
    assert refused <= 1


async def _at_least(database_url: str, sql: str, n: int) -> bool:
    return await count(database_url, sql) >= n


async def _true(value: bool) -> bool:
    return value


async def _per_site(database_url: str, edition_id: uuid.UUID) -> list[int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT count(*) AS n FROM fieldwork.audit_tasks WHERE edition_id = $1 "
            "GROUP BY site_id",
            edition_id,
        )
        return [int(r["n"]) for r in rows]
    finally:
        await conn.close()
