"""Consumer rates of scoring and reporting with one process, then two, on the same durable
consumers: `python -m benchmarks.scale_out [--audits 3000]`.

Each run gets a fresh database on a durable PostgreSQL (fsync and synchronous_commit on) and a
fresh NATS (JetStream on disk, `sync_interval: always`). Scoring's members are started, then
the crafted fieldwork events are published (`tests/e2e/streams.py`: grids, validated audits,
copies and reversed revisions); scoring's rate is distinct events applied per second until its
inbox holds them all. Then reporting's members start on the stream scoring produced; its rate
is audits kept plus score updates applied per second until both are done. Numbers on a shared
machine are noisy: compare the two runs of one invocation.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from barometer_cli.catalog import migrate_all
from barometer_cli.embedded import EmbeddedNats, EmbeddedPostgres
from shared.settings import ServiceSettings
from tests.e2e.processes import ServiceProcess, service_process, stop_all, wait_all_ready
from tests.e2e.streams import phase_events, publish
from tests.scoring.factory import CHANNELS


async def _count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql) or 0)
    finally:
        await conn.close()


async def _until(url: str, sql: str, target: int, within: float = 1800) -> None:
    deadline = time.monotonic() + within
    while await _count(url, sql) < target:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done within {within}s: {sql}")
        await asyncio.sleep(0.2)


async def measure(root: Path, pg: EmbeddedPostgres, processes: int, audits: int) -> list[str]:
    database = f"scale_{processes}"
    admin = await asyncpg.connect(pg.url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    url = pg.url.rsplit("/", 1)[0] + f"/{database}"
    await asyncio.to_thread(migrate_all, url)
    server = EmbeddedNats(root / f"nats-{processes}", sync_always=True)
    server.start()
    data_dir = root / "data"
    settings = ServiceSettings(environment="test", data_dir=data_dir)

    def member(service: str, n: int) -> ServiceProcess:
        return service_process(service, database_url=url, nats_url=server.url,
                               data_dir=settings.data_dir, logs=root / f"logs-{processes}",
                               label=f"{service}-{n}")  # fmt: skip

    edition_id = uuid.uuid4()
    codes = {c: f"{c}-{edition_id.hex[:10]}" for c in CHANNELS}
    distinct, messages = phase_events(edition_id, random.Random(5), 1, codes,
                                      structures=max(10, audits // 15), audits=audits)  # fmt: skip
    audit_events = sum(1 for e, _ in distinct if e.subject != "fieldwork.grid.published.v1")
    scorers = [member("scoring", n) for n in range(processes)]
    reporters = [member("reporting", n) for n in range(processes)]
    lines = []
    try:
        for p in scorers:
            p.start()
        wait_all_ready(scorers)
        started = time.perf_counter()
        await publish(server.url, messages)
        await _until(url, "SELECT count(*) FROM scoring.inbox", len(distinct))
        scoring = len(distinct) / (time.perf_counter() - started)
        updates = await _count(
            url, "SELECT count(*) FROM scoring.outbox WHERE subject = 'scoring.scores.updated.v1'"
        )
        await _until(url, "SELECT count(*) FROM scoring.outbox WHERE published_at IS NOT NULL",
                     await _count(url, "SELECT count(*) FROM scoring.outbox"))  # fmt: skip
        for p in reporters:
            p.start()
        wait_all_ready(reporters)
        started = time.perf_counter()
        await _until(url, "SELECT count(*) FROM reporting.inbox", audit_events + updates)
        reporting = (audit_events + updates) / (time.perf_counter() - started)
        lines.append(f"scoring, {processes} process(es): {scoring:,.0f} events/s "
                     f"({len(distinct):,} events, {len(messages):,} messages)")  # fmt: skip
        lines.append(f"reporting, {processes} process(es): {reporting:,.0f} events/s "
                     f"({audit_events:,} audits, {updates:,} score updates)")  # fmt: skip
    finally:
        stop_all([*scorers, *reporters])
        server.stop()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audits", type=int, default=3000)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="barometre-scale-"))
    pg = EmbeddedPostgres(root / "pg")
    pg.start()
    try:
        for processes in (1, 2):
            for line in asyncio.run(measure(root, pg, processes, args.audits)):
                print(line, flush=True)
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
