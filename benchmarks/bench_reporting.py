"""Scorecard throughput and latency with 10,000 structures loaded, beside a bare FastAPI
endpoint doing one trivial asyncpg query, measured in the same run.

`run(ctx)` takes `ctx.database_url` and `ctx.nats_url` (the harness's); standalone
(`python -m benchmarks.bench_reporting`) it starts embedded PostgreSQL and NATS. Both apps
run as uvicorn processes; the load generator runs in its own process: first closed-loop
(concurrency 32, 4 s, alternating, best of 3 rounds) for each app's throughput, then an open loop at a fixed arrival rate
(half the bare endpoint's throughput) on the scorecard for p50/p99.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

STRUCTURES = 10_000
BARE_APP = """
import asyncpg, os
from fastapi import FastAPI
app = FastAPI()
pool = None
@app.on_event("startup")
async def start():
    global pool
    pool = await asyncpg.create_pool(os.environ["BARE_DSN"], min_size=5, max_size=10)
@app.get("/bare")
async def bare():
    return {"value": await pool.fetchval("SELECT 1")}
"""


async def _load(
    database_url: str, count: int = STRUCTURES
) -> tuple[uuid.UUID, list[uuid.UUID], float]:
    from services.reporting.readmodel import service
    from services.reporting.settings import ReportingSettings
    from shared.contracts.registry import EditionCreatedV1
    from shared.contracts.scoring import ScoresUpdatedV1
    from shared.db import create_engine, create_session_factory, transaction
    from tests.reporting.edition import generate

    strata = {f"stratum-{i}": ("city_hall", max(5, count // 8)) for i in range(8)}
    structures = generate(random.Random(1), strata)
    edition_id = uuid.uuid4()
    engine = create_engine(ReportingSettings(database_url=database_url, environment="test"))
    factory = create_session_factory(engine)
    started = time.perf_counter()
    async with transaction(factory) as session:
        await service.edition_created(session, EditionCreatedV1(
            edition_id=edition_id, year=2026, name="Bench", status="scoring",
            results_dispatch_on=date.today() - timedelta(days=1)))  # fmt: skip
        await service.scores_updated(session, ScoresUpdatedV1(
            edition_id=edition_id, generation=1, full=True,
            structures=[s.figures() for s in structures], groups=[]))  # fmt: skip
    async with transaction(factory) as session:  # what the service's refresher does next
        await service.refresh_stale(session)
    loaded = time.perf_counter() - started
    await engine.dispose()
    return edition_id, [s.structure_id for s in structures], loaded


def _generator(args: dict[str, Any], out: Any) -> None:
    out.put(asyncio.run(_drive(**args)))


async def _drive(urls: list[str], headers: dict[str, str], mode: str, seconds: float,
                 rate: float = 0, concurrency: int = 32) -> dict[str, Any]:  # fmt: skip
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(headers=headers, timeout=10,
                                 limits=httpx.Limits(max_connections=64)) as client:  # fmt: skip

        async def one() -> None:
            nonlocal errors
            started = time.perf_counter()
            r = await client.get(random.choice(urls))
            latencies.append(time.perf_counter() - started)
            errors += r.status_code != 200

        for _ in range(50):  # warm-up (and the scorecards' first rendering)
            await one()
        latencies.clear()
        begin = time.perf_counter()
        if mode == "closed":

            async def worker() -> None:
                while time.perf_counter() - begin < seconds:
                    await one()

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            tasks = []
            for i in range(int(rate * seconds)):
                delay = begin + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one()))
            await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    ordered = sorted(latencies)
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
        "errors": errors,
    }


def _measure(**args: Any) -> dict[str, Any]:
    queue: Any = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=_generator, args=(args, queue))
    process.start()
    result: dict[str, Any] = queue.get(timeout=300)
    process.join()
    return result


def against_bare(
    urls: list[str], headers: dict[str, str], bare_url: list[str], *, bare_at_rate: bool = False
) -> dict[str, Any]:
    """The endpoint and the bare one alternated in closed loops, best of 3 each (the machine
    may be shared and noisy), then the endpoint (and, with `bare_at_rate`, the bare one) in an
    open loop at half the bare rate: `bare`, `best`, `rate`, `fixed`, `bare_fixed`."""
    bares, loads = [], []
    for _ in range(3):
        bares.append(_measure(urls=bare_url, headers={}, mode="closed", seconds=4))
        loads.append(_measure(urls=urls, headers=headers, mode="closed", seconds=4))
    bare = max(bares, key=lambda r: r["rps"])
    rate = bare["rps"] / 2
    return {
        "bare": bare,
        "best": max(loads, key=lambda r: r["rps"]),
        "rate": rate,
        "fixed": _measure(urls=urls, headers=headers, mode="open", seconds=5, rate=rate),
        "bare_fixed": _measure(urls=bare_url, headers={}, mode="open", seconds=5, rate=rate)
        if bare_at_rate
        else None,
    }


def _serve(app: list[str], port: int, env: dict[str, str], cwd: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", *app, "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(command, env={**os.environ, **env}, cwd=cwd)


def _wait(url: str) -> None:
    for _ in range(200):
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


async def run(ctx: Any) -> list[dict[str, Any]]:
    from barometer_cli.catalog import migrate_all

    if hasattr(ctx, "fresh_database"):  # the harness: a migrated database, a scale
        database_url = await ctx.fresh_database()
        structures = ctx.size(STRUCTURES)
    else:
        database_url = ctx.database_url
        await asyncio.to_thread(migrate_all, database_url)
        structures = STRUCTURES
    edition_id, ids, loaded = await _load(database_url, structures)
    rows = await asyncio.to_thread(_bench, database_url, ctx.nats_url, edition_id, ids)
    return [
        {"name": f"scores.updated of {len(ids):,} structures applied (ranks, statistics)",
         "value": round(loaded, 2), "unit": "s"},
        *rows,
    ]  # fmt: skip


def _bench(
    database_url: str, nats_url: str, edition_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[dict[str, Any]]:
    from barometer_cli.embedded import free_port
    from shared.auth import Role, issue_token
    from shared.settings import ServiceSettings

    root = str(Path(__file__).resolve().parent.parent)
    bare_dir = tempfile.mkdtemp()
    Path(bare_dir, "bare_app.py").write_text(BARE_APP)
    data_dir = tempfile.mkdtemp()
    env = {"DATABASE_URL": database_url, "NATS_URL": nats_url, "BAROMETER_DATA_DIR": data_dir,
           "ENVIRONMENT": "test", "REPORTING_LOG_LEVEL": "WARNING"}  # fmt: skip
    reporting_port, bare_port = free_port(), free_port()
    reporting = _serve(
        ["services.reporting.app:create_app", "--factory"], reporting_port, env, root
    )
    dsn = "postgresql://" + database_url.split("://", 1)[1]
    bare = _serve(["bare_app:app"], bare_port, {"BARE_DSN": dsn}, bare_dir)
    try:
        _wait(f"http://127.0.0.1:{reporting_port}/health/live")
        _wait(f"http://127.0.0.1:{bare_port}/bare")
        token = issue_token(ServiceSettings(environment="test", data_dir=Path(data_dir)),
                            role=Role.OPERATOR, subject="bench")  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{reporting_port}/v1/editions/{edition_id}/structures"
        cards = [f"{base}/{s}/scorecard" for s in random.Random(2).sample(ids, min(500, len(ids)))]
        bare_url = [f"http://127.0.0.1:{bare_port}/bare"]
        with httpx.Client(headers=auth, timeout=30) as warm:  # each version renders once
            rendered = sum(warm.get(card).status_code == 200 for card in cards)
        measured = against_bare(cards, auth, bare_url)
        bare_max, card_max = measured["bare"], measured["best"]
        rate, card_fixed = measured["rate"], measured["fixed"]
    finally:
        for process in (reporting, bare):
            process.terminate()
            process.wait(timeout=20)
    ratio = card_max["rps"] / bare_max["rps"]
    return [
        {"name": "bare asyncpg endpoint throughput", "value": round(bare_max["rps"], 1), "unit": "req/s"},
        {"name": f"scorecard throughput ({len(ids):,} structures)", "value": round(card_max["rps"], 1),
         "unit": "req/s", "reference": round(bare_max["rps"], 1), "ratio": round(ratio, 3)},
        {"name": f"scorecard p50 at {rate:.0f} req/s", "value": round(card_fixed["p50_ms"], 2), "unit": "ms"},
        {"name": f"scorecard p99 at {rate:.0f} req/s", "value": round(card_fixed["p99_ms"], 2),
         "unit": "ms", "reference": 25.0, "ratio": round(card_fixed["p99_ms"] / 25.0, 3)},
        {"name": "scorecards rendered before measuring", "value": rendered, "unit": "structures"},
        {"name": "scorecard errors", "value": card_max["errors"] + card_fixed["errors"], "unit": "responses"},
    ]  # fmt: skip


def main() -> None:
    from types import SimpleNamespace

    from barometer_cli.embedded import EmbeddedNats, EmbeddedPostgres

    root = Path(tempfile.mkdtemp())
    pg, server = EmbeddedPostgres(root / "pg", durable=False), EmbeddedNats(root / "nats")
    pg.start()
    server.start()
    try:
        from barometer_cli.nats_setup import settings_from_environment, setup_topology

        asyncio.run(
            setup_topology(server.url, lambda n: settings_from_environment(n, environment="test"))
        )
        for row in asyncio.run(run(SimpleNamespace(database_url=pg.url, nats_url=server.url))):
            print(row)
    finally:
        server.stop()
        pg.stop()


if __name__ == "__main__":
    main()
