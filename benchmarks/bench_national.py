"""A national edition on the four real services: the territory import, `barometer simulate`
(35,000 structures at scale 1: structures, registrations, plans, assignment, about 455,000
submitted and validated audits, scores), the national barometer under load, and the peak
memory of each service process.

Rows (each with a same-run reference where one exists):
- the territory import (the bundled national vintage into empty tables; reference: reading and
  checking the files alone), and its re-import (nothing changed);
- the generator's rate: structures/s over the whole run, audits/s over the fieldwork phase;
- planning and assignment for the whole edition (the `plans` and `assignment` phases, s);
- the barometer: closed-loop throughput beside a bare asyncpg endpoint, then p50/p99 at half
  the bare endpoint's rate (as bench_reporting does for the scorecard);
- each service's peak RSS (`VmHWM`) over the run, the reference being its RSS once started.

Standalone: `python -m benchmarks.bench_national [--structures 3500]` (embedded servers).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from barometer_cli.catalog import SERVICES
from barometer_cli.dev import wait_ready
from barometer_cli.embedded import free_port, stop_process
from barometer_cli.simulate import NATIONAL, Options, Report
from barometer_cli.simulate import run as simulate
from benchmarks.bench_reporting import BARE_APP, _serve, _wait, against_bare
from benchmarks.harness import Context, Row, rate
from services.registry.settings import RegistrySettings
from services.registry.territories import sources
from services.registry.territories.service import import_into_database
from shared.auth import Role, ensure_dev_keys, issue_token
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parent.parent


def memory_kb(pid: int, field: str) -> int:
    """`VmRSS` (now) or `VmHWM` (peak) of a process, in kB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def start_services(
    database_url: str, nats_url: str, data_dir: Path
) -> tuple[dict[str, str], dict[str, subprocess.Popen[bytes]]]:
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    urls: dict[str, str] = {}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for spec in SERVICES:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url,
               "ENVIRONMENT": "test", "BAROMETER_DATA_DIR": str(data_dir),
               f"{spec.env_prefix}PORT": str(port), f"{spec.env_prefix}LOG_LEVEL": "WARNING"}  # fmt: skip
        with (logs / f"{spec.name}.log").open("wb") as log:
            processes[spec.name] = subprocess.Popen(
                [sys.executable, "-m", spec.module], env=env, stdout=log, stderr=log, cwd=ROOT
            )
        urls[spec.name] = f"http://127.0.0.1:{port}"
    wait_ready(urls, processes, seconds=120)
    return urls, processes


async def territory_rows(database_url: str) -> list[Row]:
    settings = RegistrySettings(database_url=database_url, environment="test")
    started = time.perf_counter()
    await asyncio.to_thread(sources.read_bundled, None)
    reading = time.perf_counter() - started
    first = await import_into_database(settings)
    again = await import_into_database(settings)
    return [
        Row("territory import: national vintage into empty tables", first.seconds, "s",
            reference=reading),
        Row("territory import: the same vintage again (unchanged)", again.seconds, "s",
            reference=reading),
    ]  # fmt: skip


def barometer_rows(
    urls: dict[str, str], edition_id: str, database_url: str, token: str
) -> list[Row]:
    bare_dir = tempfile.mkdtemp()
    Path(bare_dir, "bare_app.py").write_text(BARE_APP)
    port = free_port()
    dsn = "postgresql://" + database_url.split("://", 1)[1]
    bare = _serve(["bare_app:app"], port, {"BARE_DSN": dsn}, bare_dir)
    try:
        _wait(f"http://127.0.0.1:{port}/bare")
        auth = {"Authorization": f"Bearer {token}"}
        barometer = [f"{urls['reporting']}/v1/editions/{edition_id}/barometer"]
        bare_url = [f"http://127.0.0.1:{port}/bare"]
        measured = against_bare(barometer, auth, bare_url, bare_at_rate=True)
        best_bare, best = measured["bare"], measured["best"]
        fixed, bare_fixed = measured["fixed"], measured["bare_fixed"]
    finally:
        stop_process(bare, signal.SIGTERM, timeout=20)
    errors = best["errors"] + fixed["errors"]
    return [
        Row("national barometer throughput", best["rps"], "req/s", reference=best_bare["rps"]),
        Row("national barometer p50 at half the bare rate", fixed["p50_ms"], "ms",
            reference=bare_fixed["p50_ms"]),
        Row("national barometer p99 at half the bare rate", fixed["p99_ms"], "ms",
            reference=bare_fixed["p99_ms"]),
        Row("national barometer errors", errors, "responses"),
    ]  # fmt: skip


def generator_rows(report: Report, structures: int) -> list[Row]:
    total = sum(p.seconds for p in report.phases)
    rows = [
        Row("simulate: structures per second (whole run)", rate(structures, total), "structures/s")
    ]
    fieldwork = report.phase("fieldwork")
    if fieldwork is not None:
        rows.append(Row("simulate: audits submitted and validated", fieldwork.rate, "audits/s"))
    for name, label in (("registrations", "registrations (bulk, accepted)"),
                        ("plans", "planning of the whole edition (events to tasks)"),
                        ("assignment", "automatic assignment of the whole edition"),
                        ("scores", "scores and read model after the last validation")):  # fmt: skip
        phase = report.phase(name)
        if phase is not None:
            rows.append(Row(f"simulate: {label}", phase.seconds, "s"))
    return rows


async def measure(database_url: str, nats_url: str, structures: int) -> list[Row]:
    rows = await territory_rows(database_url)
    data_dir = Path(tempfile.mkdtemp(prefix="barometre-national-"))
    ensure_dev_keys(data_dir)
    urls, processes = await asyncio.to_thread(start_services, database_url, nats_url, data_dir)
    idle = {name: memory_kb(p.pid, "VmRSS") for name, p in processes.items()}
    try:
        os.environ["BAROMETER_DATA_DIR"] = str(data_dir)  # simulate signs with this key
        options = Options(structures=structures, seed=1, year=2027, concurrency=16)
        report = await asyncio.to_thread(
            lambda: simulate(options, urls, say=lambda line: print(f"  {line}", file=sys.stderr))
        )
        rows += generator_rows(report, structures)
        token = issue_token(ServiceSettings(data_dir=data_dir), role=Role.OPERATOR, subject="bench")
        rows += await asyncio.to_thread(
            barometer_rows, urls, report.edition_id, database_url, token
        )
        peaks = {name: memory_kb(p.pid, "VmHWM") for name, p in processes.items()}
    finally:
        for process in processes.values():
            stop_process(process, signal.SIGTERM, timeout=20)
    rows += [Row(f"{name}: peak RSS with the edition loaded", peaks[name] / 1024, "MB",
                 reference=idle[name] / 1024) for name in peaks]  # fmt: skip
    return rows


async def run(ctx: Context) -> list[Row]:
    """`make bench`: 35,000 structures at scale 1 (`--scale` multiplies it)."""
    return await measure(await ctx.fresh_database(), ctx.nats_url, ctx.size(NATIONAL))


def main() -> None:
    import argparse

    from barometer_cli.catalog import migrate_all
    from barometer_cli.embedded import EmbeddedNats, EmbeddedPostgres
    from barometer_cli.nats_setup import settings_from_environment, setup_topology

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structures", type=int, default=NATIONAL)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp())
    pg, server = EmbeddedPostgres(root / "pg", durable=False), EmbeddedNats(root / "nats")
    pg.start()
    server.start()
    try:
        migrate_all(pg.url)
        asyncio.run(
            setup_topology(server.url, lambda n: settings_from_environment(n, environment="test"))
        )
        for row in asyncio.run(measure(pg.url, server.url, args.structures)):
            print(row.as_json())
    finally:
        server.stop()
        pg.stop()


if __name__ == "__main__":
    main()
