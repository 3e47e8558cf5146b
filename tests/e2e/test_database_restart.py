"""PostgreSQL crashes (immediate shutdown: no checkpoint, WAL replayed at restart) under load:
the four services say they are not ready (503) while it is away and answer 503 problems,
never a 500 nor a dropped connection; they come back by themselves once it is up; every write
that got a 2xx is there afterwards, and every figure equals the computation from scratch."""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from barometer_cli.demo import answer_grid, evidence_for
from barometer_cli.embedded import EmbeddedPostgres
from tests.conftest import Infra
from tests.e2e.api import Api, Headers, new_edition
from tests.e2e.checks import assert_figures_from_scratch, fieldwork_events, until_settled
from tests.e2e.conftest import System, running_system
from tests.helpers import eventually

PATIENCE = 90.0  # seconds a client keeps retrying a 503 before the test gives up


def clone(source_url: str, target_url: str) -> None:
    """The session's migrated template (territories imported) into another server."""
    bin_dir = EmbeddedPostgres.bin_dir()
    dump = subprocess.Popen(
        [str(bin_dir / "pg_dump"), "--no-owner", "-d", source_url], stdout=subprocess.PIPE
    )
    subprocess.run(
        [str(bin_dir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", target_url],
        stdin=dump.stdout, check=True, capture_output=True,
    )  # fmt: skip
    assert dump.wait() == 0


async def test_postgresql_crash_under_load_loses_no_acknowledged_write(
    infra: Infra, template_url: str, tmp_path: Path, token: Headers
) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg")  # durable: fsync and synchronous_commit on
    await asyncio.to_thread(pg.start)
    try:
        await asyncio.to_thread(clone, template_url, pg.url)
        with running_system(infra, pg.url, tmp_path) as system:
            await under_load(system, pg, token)
    finally:
        await asyncio.to_thread(pg.stop)


class Client:
    """Requests as a patient client sends them: a 503 (which must be a problem document) or a
    dropped connection is counted and, where `retry`, sent again."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.statuses: Counter[int] = Counter()
        self.dropped = 0

    async def send(
        self, method: str, service: str, path: str, *, retry: bool = True, **kwargs: Any
    ) -> httpx.Response | None:
        kwargs.setdefault("headers", self.api.operator)
        deadline = time.monotonic() + PATIENCE
        while True:
            r: httpx.Response | None = None
            try:
                answer = await self.api.http.request(
                    method, self.api.urls[service] + path, **kwargs
                )
            except httpx.TransportError:
                self.dropped += 1
            else:
                r = answer
                self.statuses[answer.status_code] += 1
                if answer.status_code != 503:
                    return answer
                assert answer.headers["content-type"] == "application/problem+json", answer.text
            if not retry:
                return r
            assert time.monotonic() < deadline, f"{method} {path}: unavailable for {PATIENCE}s"
            await asyncio.sleep(0.2)


async def under_load(system: System, pg: EmbeddedPostgres, token: Headers) -> None:
    api = Api(system, token)
    client = Client(api)
    edition_id = await new_edition(api, 2028)
    structures = [await api.register(edition_id, "Mairie de Brest", "29019")]
    tasks = []
    for s in structures:
        tasks += await eventually(partial(api.tasks, edition_id, s["id"]))
    auditors = [await api.auditor(f"P{n}") for n in range(1, 5)]
    validated: list[str] = []
    created: list[str] = []
    stop = asyncio.Event()

    async def status_of(task_id: str) -> str:
        r = await client.send("GET", "fieldwork", f"/v1/tasks/{task_id}")
        assert r is not None
        assert r.status_code == 200, r.text
        return str(r.json()["status"])

    async def step(send: Awaitable[httpx.Response | None], task_id: str, reached: set[str]) -> Any:
        """A write retried through the outage; a 409 only if an earlier try did commit."""
        r = await send
        assert r is not None
        if r.status_code == 409:
            assert await status_of(task_id) in reached, r.text
            return None
        assert r.status_code == 200, r.text
        return r.json()

    async def validate(share: list[dict[str, Any]]) -> None:
        for task in share:
            task_id, auditor_id = task["id"], auditors[task["sequence"] - 1]["id"]
            auditor = token("auditor", subject=auditor_id)
            rng = random.Random(task_id)
            after = {"assigned", "in_progress", "submitted", "validated"}
            await step(client.send("POST", "fieldwork", f"/v1/tasks/{task_id}/assign",
                                   json={"auditor_id": auditor_id}), task_id, after)  # fmt: skip
            detail = await step(client.send("GET", "fieldwork", f"/v1/tasks/{task_id}",
                                            headers=auditor), task_id, set())  # fmt: skip
            body = {"answers": answer_grid(detail["grid"]["items"], rng, 0.6),
                    "evidence": evidence_for(detail, rng, 0.6)}  # fmt: skip
            await step(client.send("POST", "fieldwork", f"/v1/tasks/{task_id}/submission",
                                   headers=auditor, json=body), task_id, {"submitted", "validated"})  # fmt: skip
            await step(client.send("POST", "fieldwork", f"/v1/tasks/{task_id}/validate"),
                       task_id, {"validated"})  # fmt: skip
            validated.append(task_id)

    async def create_auditors() -> None:  # one try each: the 2xx ones must all be there
        n = 0
        while not stop.is_set():
            n += 1
            r = await client.send("POST", "fieldwork", "/v1/auditors", retry=False, json={
                "pseudonym": f"L{id(stop)}-{n}-{random.random()}", "home_departement_code": "29",
                "weekly_capacity": 10, "channels": ["email"]})  # fmt: skip
            if r is not None and r.status_code == 201:
                created.append(r.json()["id"])
            await asyncio.sleep(0.1)

    async def read() -> None:
        scorecard = f"/v1/editions/{edition_id}/structures/{structures[0]['id']}/scorecard"
        while not stop.is_set():
            r = await client.send("GET", "reporting", scorecard, retry=False)
            assert r is None or r.status_code in (200, 404, 503), r.text
            await asyncio.sleep(0.05)

    validators = [asyncio.create_task(validate(tasks[i::2])) for i in range(2)]
    others = [asyncio.create_task(create_auditors()) for _ in range(2)]
    others.append(asyncio.create_task(read()))
    try:
        await eventually(lambda: _at_least(validated, 3), within=PATIENCE)
        await asyncio.to_thread(pg.crash)
        assert await _readiness(system, 503) == dict.fromkeys(system.urls, 503)
        await asyncio.sleep(1.0)  # requests keep coming while the database is away
        await asyncio.to_thread(pg.start)  # same port, same data: WAL replayed
        assert await _readiness(system, 200) == dict.fromkeys(system.urls, 200)
        await asyncio.gather(*validators)
    finally:
        stop.set()
        await asyncio.gather(*validators, *others, return_exceptions=True)
    for t in others:
        t.result()  # a failed assertion in a client fails the test

    assert len(validated) == len(tasks) == 13
    assert client.statuses[503] > 0, "no request met the outage"
    assert {s for s in client.statuses if s >= 500} == {503}, client.statuses
    assert client.dropped == 0
    for auditor_id in created:  # every acknowledged creation survived the crash
        r = await client.send("GET", "fieldwork", f"/v1/auditors/{auditor_id}")
        assert r is not None
        assert r.status_code == 200, auditor_id
    for task_id in validated:
        assert await status_of(task_id) == "validated"
    events = await fieldwork_events(pg.url)
    await until_settled(pg.url, events)
    expected = await assert_figures_from_scratch(pg.url, uuid.UUID(edition_id), events)
    assert sum(s["audits"] for s in expected.values()) == len(validated)


async def _readiness(system: System, wanted: int, within: float = 60) -> dict[str, int]:
    """Each service's /health/ready status, polled until it is `wanted` (or time runs out)."""
    seen: dict[str, int] = {}
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline and seen != dict.fromkeys(system.urls, wanted):
            for name, url in system.urls.items():
                if seen.get(name) != wanted:
                    seen[name] = (await http.get(f"{url}/health/ready")).status_code
            await asyncio.sleep(0.1)
    return seen


async def _at_least(items: list[str], count: int) -> bool:
    return len(items) >= count
