"""A bounded load test of the running stack: `python -m benchmarks.load` (or `make load`).

Starts its own PostgreSQL (durable: fsync and synchronous_commit on) and NATS (JetStream on
disk, `sync_interval: always`) in a temporary directory, migrates, imports the territories,
starts the four services as processes, loads the demo editions and registers a load edition
(`--structures` city halls, their audit plans), then runs `--clients` concurrent clients for
`--seconds`, each looping over a mix of reads (a demo structure's scorecard, the national
barometer) and writes (assign, read, submit and validate a planned task). It reports, per kind
of request, the rate, p50 and p99 of the answered requests, the errors (any unexpected status),
the 5xx and the dropped connections; then checks that no write answered 2xx was lost: every
validated task is validated in fieldwork and scored by scoring. Rows go to `.bench/load.json`.

Not part of `make test` (it takes a few minutes); numbers on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from barometer_cli.catalog import SERVICES, migrate_all
from barometer_cli.demo import answer_grid, evidence_for, load_demo
from barometer_cli.embedded import EmbeddedNats, EmbeddedPostgres
from barometer_cli.territories import ensure_territories
from shared.auth import Role, ensure_dev_keys, issue_token
from shared.settings import PROJECT_ROOT, ServiceSettings
from tests.e2e.processes import service_process, stop_all, wait_all_ready

CHANNELS = ["email", "letter", "phone", "answering_machine", "website"]
KINDS = ("scorecard", "barometer", "write")
WEIGHTS = (0.45, 0.30, 0.25)


@dataclass
class Kind:
    """What one kind of request got: latencies of answered requests, statuses, drops."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    dropped: int = 0
    unexpected: int = 0

    def row(self, name: str, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "kind": name,
            "requests": len(ordered) + self.dropped,
            "rate": round(len(ordered) / seconds, 1),
            "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else None,
            "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 1) if ordered else None,
            "errors": self.unexpected,
            "5xx": sum(n for s, n in self.statuses.items() if s >= 500),
            "dropped": self.dropped,
        }


class Load:
    def __init__(self, urls: dict[str, str], operator: str, settings: ServiceSettings) -> None:
        self.urls = urls
        self.settings = settings
        self.operator = {"Authorization": f"Bearer {operator}"}
        self.kinds: dict[str, Kind] = defaultdict(Kind)
        self.tasks: list[dict[str, Any]] = []
        self.auditors: list[str] = []
        self.scorecards: list[str] = []
        self.barometer = ""
        self.submitted: set[str] = set()
        self.validated: set[str] = set()
        self.http: httpx.AsyncClient

    async def request(
        self, kind: str, method: str, url: str, *, expect: tuple[int, ...] = (200,), **kw: Any
    ) -> httpx.Response | None:
        kw.setdefault("headers", self.operator)
        record = self.kinds[kind]
        started = time.perf_counter()
        try:
            r = await self.http.request(method, url, **kw)
        except httpx.TransportError:
            record.dropped += 1
            return None
        record.latencies.append(time.perf_counter() - started)
        record.statuses[r.status_code] += 1
        if r.status_code not in expect:
            record.unexpected += 1
        return r

    async def write(self) -> None:
        """One planned task through assign, read, submit and validate."""
        if not self.tasks:
            await self.read("scorecard")
            return
        task = self.tasks.pop()
        task_id, fieldwork = task["id"], self.urls["fieldwork"]
        for auditor_id in random.sample(self.auditors, 6):  # one never twice on a site/channel
            r = await self.request("assign", "POST", f"{fieldwork}/v1/tasks/{task_id}/assign",
                                   json={"auditor_id": auditor_id}, expect=(200, 409))  # fmt: skip
            if r is None or r.status_code != 409:
                break
        if r is None or r.status_code != 200:
            return
        auditor = {"Authorization": "Bearer " + issue_token(
            self.settings, role=Role.AUDITOR, subject=auditor_id)}  # fmt: skip
        r = await self.request("task", "GET", f"{fieldwork}/v1/tasks/{task_id}", headers=auditor)
        if r is None or r.status_code != 200:
            return
        detail, rng = r.json(), random.Random(task_id)
        body = {"answers": answer_grid(detail["grid"]["items"], rng, 0.6),
                "evidence": evidence_for(detail, rng, 0.6)}  # fmt: skip
        r = await self.request("submit", "POST", f"{fieldwork}/v1/tasks/{task_id}/submission",
                               headers=auditor, json=body)  # fmt: skip
        if r is None or r.status_code != 200:
            return
        self.submitted.add(task_id)
        r = await self.request("validate", "POST", f"{fieldwork}/v1/tasks/{task_id}/validate")
        if r is not None and r.status_code == 200:
            self.validated.add(task_id)

    async def read(self, kind: str) -> None:
        if kind == "scorecard":
            await self.request(kind, "GET", random.choice(self.scorecards))
        else:
            await self.request(kind, "GET", self.barometer, headers={})

    async def client(self, until: float, rng: random.Random) -> None:
        while time.monotonic() < until:
            kind = rng.choices(KINDS, WEIGHTS)[0]
            await (self.write() if kind == "write" else self.read(kind))


async def prepare(load: Load, edition_structures: int) -> str:
    """The demo's scorecards and barometer to read; a load edition's planned tasks to write."""
    registry, fieldwork = load.urls["registry"], load.urls["fieldwork"]
    async with httpx.AsyncClient(headers=load.operator, timeout=60) as http:

        async def call(method: str, url: str, expect: int = 200, **kw: Any) -> Any:
            r = await http.request(method, url, **kw)
            if r.status_code != expect:
                raise RuntimeError(f"{method} {url}: {r.status_code} {r.text[:300]}")
            return r.json()

        demo = load.barometer.split("/editions/")[1].split("/")[0]
        page = await call("GET", f"{registry}/v1/editions/{demo}/registrations",
                          params={"limit": 100})  # fmt: skip
        base = f"{load.urls['reporting']}/v1/editions/{demo}/structures"
        load.scorecards = [f"{base}/{r['structure_id']}/scorecard" for r in page["items"]
                           if r["status"] == "accepted"]  # fmt: skip
        edition = await call("POST", f"{registry}/v1/editions", expect=201,
                             json={"year": 2030, "number": 19, "name": "Load 2030"})  # fmt: skip
        edition_id = edition["id"]
        await call("POST", f"{registry}/v1/editions/{edition_id}/transitions",
                   json={"to": "registration_open"})  # fmt: skip
        communes = await call("GET", f"{registry}/v1/territories/communes",
                              params={"limit": edition_structures, "departement": "35"})  # fmt: skip
        for commune in communes["items"]:
            r = await http.post(f"{registry}/v1/structures", json={
                "name": f"Mairie de {commune['name']}", "type": "city_hall",
                "commune_code": commune["code"]})  # fmt: skip
            if r.status_code not in (201, 409):  # 409: the demo registered it already
                raise RuntimeError(f"POST /v1/structures: {r.status_code} {r.text[:300]}")
            structure = {"id": r.json().get("id") or r.json()["existing_id"]}
            registration = await call("POST", f"{registry}/v1/editions/{edition_id}/registrations",
                                      expect=201, json={"structure_id": structure["id"]})  # fmt: skip
            await call("POST", f"{registry}/v1/editions/{edition_id}/registrations/"
                       f"{registration['id']}/accept")  # fmt: skip
        for n in range(30):
            auditor = await call("POST", f"{fieldwork}/v1/auditors", expect=201, json={
                "pseudonym": f"load-{n}", "home_departement_code": "35",
                "weekly_capacity": 100, "channels": CHANNELS})  # fmt: skip
            load.auditors.append(auditor["id"])
        deadline = time.monotonic() + 120
        while len(load.tasks) < 13 * len(communes["items"]):
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(load.tasks)} tasks planned")
            await asyncio.sleep(1)
            load.tasks = await _all(http, f"{fieldwork}/v1/editions/{edition_id}/tasks")
        random.Random(1).shuffle(load.tasks)
        return str(edition_id)


async def _all(http: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get(url, params=params)).json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def lost_writes(load: Load, edition_id: str, within: float = 180) -> dict[str, int]:
    """Writes answered 2xx and not found afterwards (fieldwork's status, scoring's scores)."""
    fieldwork, scoring = load.urls["fieldwork"], load.urls["scoring"]
    async with httpx.AsyncClient(headers=load.operator, timeout=60) as http:
        tasks = {
            t["id"]: t for t in await _all(http, f"{fieldwork}/v1/editions/{edition_id}/tasks")
        }
        not_validated = [t for t in load.validated if tasks[t]["status"] != "validated"]
        not_submitted = [t for t in load.submitted
                         if tasks[t]["status"] not in ("submitted", "validated")]  # fmt: skip
        structures = {tasks[t]["structure_id"] for t in load.validated}
        deadline = time.monotonic() + within
        while True:
            scored: set[str] = set()
            for s in structures:
                r = await http.get(
                    f"{scoring}/v1/editions/{edition_id}/structures/{s}/audit-scores"
                )
                if r.status_code == 200:
                    scored |= {a["audit_id"] for a in r.json()}
            unscored = load.validated - scored
            if not unscored or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
    return {"validated_not_found": len(not_validated), "submitted_not_found": len(not_submitted),
            "validated_not_scored": len(unscored)}  # fmt: skip


async def run(args: argparse.Namespace, urls: dict[str, str], settings: ServiceSettings) -> Any:
    operator = issue_token(settings, role=Role.OPERATOR, subject="load")
    print("loading the demo editions...", flush=True)
    links = await asyncio.to_thread(load_demo, urls, operator, say=lambda line: print(line))
    load = Load(urls, operator, settings)
    load.barometer = links.barometer
    edition_id = await prepare(load, args.structures)
    print(f"{len(load.tasks)} tasks to submit, {len(load.scorecards)} scorecards to read; "
          f"{args.clients} clients for {args.seconds} s...", flush=True)  # fmt: skip
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as load.http:
        until = time.monotonic() + args.seconds
        started = time.perf_counter()
        await asyncio.gather(*(load.client(until, random.Random(i)) for i in range(args.clients)))
        elapsed = time.perf_counter() - started
    rows = [load.kinds[k].row(k, elapsed) for k in sorted(load.kinds)]
    lost = await lost_writes(load, edition_id)
    return {"clients": args.clients, "seconds": round(elapsed, 1), "rows": rows,
            "validated": len(load.validated), "submitted": len(load.submitted), "lost": lost}  # fmt: skip


def table(result: dict[str, Any]) -> str:
    head = ("kind", "requests", "rate", "p50_ms", "p99_ms", "errors", "5xx", "dropped")
    lines = ["  ".join(f"{h:>10}" for h in head)]
    for row in result["rows"]:
        lines.append("  ".join(f"{row[h]!s:>10}" for h in head))
    lines.append(f"{result['clients']} clients, {result['seconds']} s; writes answered 2xx: "
                 f"{result['submitted']} submissions, {result['validated']} validations; "
                 f"lost: {result['lost']}")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--structures", type=int, default=60, help="city halls to audit")
    parser.add_argument("--json", type=Path, default=PROJECT_ROOT / ".bench" / "load.json")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for every service, e.g. HTTP_KEEP_ALIVE_SECONDS=5")  # fmt: skip
    args = parser.parse_args(argv)
    overrides = dict(s.split("=", 1) for s in args.set)
    root = Path(tempfile.mkdtemp(prefix="barometre-load-"))
    os.environ["BAROMETER_DATA_DIR"] = str(root / "data")
    settings = ServiceSettings(environment="test", data_dir=root / "data")
    ensure_dev_keys(settings.data_dir)
    pg, nats_server = EmbeddedPostgres(root / "pg"), EmbeddedNats(root / "nats", sync_always=True)
    processes = []
    try:
        pg.start()
        nats_server.start()
        print("migrating, importing the territories...", flush=True)
        migrate_all(pg.url)
        ensure_territories(pg.url, say=lambda line: print(line))
        processes = [
            service_process(spec.name, database_url=pg.url, nats_url=nats_server.url,
                            data_dir=settings.data_dir, logs=root / "logs", **overrides)
            for spec in SERVICES
        ]  # fmt: skip
        for p in processes:
            p.start()
        wait_all_ready(processes)
        urls = {p.service: p.url for p in processes}
        result = asyncio.run(run(args, urls, settings))
    finally:
        stop_all(processes)
        nats_server.stop()
        pg.stop()
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    failed = any(r["5xx"] or r["dropped"] or r["errors"] for r in result["rows"])
    return 1 if failed or any(result["lost"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
