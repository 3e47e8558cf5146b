"""Benchmark: plan a national edition (35,000 sites) as fieldwork does, against PostgreSQL.

Uses DATABASE_URL when set (the fieldwork schema is migrated first), else starts an embedded
PostgreSQL in a temporary folder. Prints the time of the pure planning (dates, scenarios) and
of the whole planning transaction (site plans claimed, tasks written with COPY, committed).

    .venv/bin/python benchmarks/bench_planning.py [--sites 35000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

from barometer_cli.catalog import SERVICES
from barometer_cli.embedded import EmbeddedPostgres
from benchmarks.harness import Context, Row, rate
from services.fieldwork.models import tables
from services.fieldwork.plans import service as plan_service
from services.fieldwork.plans.rules import (
    DEFAULT_QUOTAS,
    default_windows,
    plan_site,
    site_counts,
    with_scenarios,
)
from services.fieldwork.scenarios.service import catalogue
from shared.db import create_engine, create_session_factory
from shared.outbox import Outbox

DEPARTEMENTS = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B", "971", "974"]
TYPES = ["city_hall", "intercommunality", "library", "ccas", "france_services", "postal"]


def registrations(count: int, edition_id: uuid.UUID) -> list[plan_service.RegistrationInput]:
    rng = random.Random(2017)
    windows = default_windows(2017)
    out = []
    for _ in range(count):
        visits = rng.random() < 0.3
        out.append(
            plan_service.RegistrationInput(
                registration_id=uuid.uuid4(), edition_id=edition_id, edition_year=2017,
                structure_id=uuid.uuid4(), structure_type=rng.choice(TYPES),
                stratum_code="s", certified=rng.random() < 0.3,
                offer="personalised" if visits else "standard",
                options=frozenset({"visits"}) if visits else frozenset(),
                sites=(plan_service.SiteInput(uuid.uuid4(), rng.choice(DEPARTEMENTS)),),
                windows=windows, quotas=DEFAULT_QUOTAS, version=2,
            )
        )  # fmt: skip
    return out


def pure(regs: list[plan_service.RegistrationInput]) -> tuple[float, int]:
    started = time.perf_counter()
    tasks = 0
    for reg in regs:
        for site in reg.sites:
            planned = plan_site(site_key=str(site.site_id), departement_code=site.departement_code,
                                counts=site_counts(DEFAULT_QUOTAS, reg.options),
                                windows=default_windows(2017), seed=0)  # fmt: skip
            dated, _ = with_scenarios(planned, site_key=str(site.site_id),
                                      structure_type=reg.structure_type, catalogue=catalogue(),
                                      seed=0)  # fmt: skip
            tasks += len(dated)
    return time.perf_counter() - started, tasks


async def with_database(database_url: str, regs: list[plan_service.RegistrationInput]) -> float:
    settings = next(s for s in SERVICES if s.name == "fieldwork").settings(
        database_url=database_url, environment="test"
    )
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    started = time.perf_counter()
    async with factory() as session, session.begin():
        created = await plan_service.plan_registrations(
            session, Outbox(tables.outbox), regs, source_event_id=uuid.uuid4(), fallback_year=2017
        )
    elapsed = time.perf_counter() - started
    await engine.dispose()
    print(f"  tasks written: {created:,}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=35_000)
    args = parser.parse_args()
    regs = registrations(args.sites, uuid.uuid4())
    seconds, tasks = pure(regs)
    print(f"pure planning: {args.sites:,} sites, {tasks:,} dated tasks in {seconds:.1f} s")
    database_url = os.environ.get("DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder:
        server = None
        if not database_url:
            server = EmbeddedPostgres(Path(folder) / "pg", durable=False)
            server.start()
            database_url = server.url
        try:
            next(s for s in SERVICES if s.name == "fieldwork").migrate(database_url)
            seconds = asyncio.run(with_database(database_url, regs))
        finally:
            if server is not None:
                server.stop()
    print(f"national planning with PostgreSQL: {args.sites:,} sites in {seconds:.1f} s "
          f"(target: under 60 s)")  # fmt: skip


async def run(ctx: Context) -> list[Row]:
    """`make bench` rows (benchmarks/README.md): the same two measures, at `ctx`'s scale
    (35,000 sites, a national edition, at scale 1)."""
    sites = ctx.size(35_000)
    regs = registrations(sites, uuid.uuid4())
    seconds, _ = pure(regs)
    database_seconds = await with_database(await ctx.fresh_database(), regs)
    return [
        Row("fieldwork planning: pure (dates, scenarios)", rate(sites, seconds), "sites/s"),
        Row("fieldwork planning: whole transaction with PostgreSQL", database_seconds, "s"),
    ]


if __name__ == "__main__":
    main()
