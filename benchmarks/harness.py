"""What a benchmark module gets (`Context`) and gives back (`Row`s).

A module `benchmarks/bench_<topic>.py` exposes `async def run(ctx: Context) -> list[Row]`;
`benchmarks/run.py` finds it, runs it against the run's PostgreSQL and NATS, prints its rows
and writes them to `.bench/latest.json`.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from barometer_cli.catalog import SERVICES, migrate_all
from barometer_cli.nats_setup import reset_topology
from shared.settings import ServiceSettings


@dataclass(frozen=True)
class Row:
    """One figure. `reference` is a same-run baseline in the same unit (e.g. the bare client's
    rate); `ratio` is then `value / reference`."""

    name: str
    value: float
    unit: str
    reference: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0:
            return None
        return self.value / self.reference

    @classmethod
    def of(cls, row: Row | Mapping[str, Any]) -> Row:
        """A module's row, as a `Row` or as the JSON mapping (`name`, `value`, `unit`, ...)."""
        if isinstance(row, Row):
            return row
        return cls(name=str(row["name"]), value=float(row["value"]), unit=str(row["unit"]),
                   reference=None if row.get("reference") is None else float(row["reference"]))  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"name": self.name, "value": round(self.value, 3), "unit": self.unit}
        if self.reference is not None:
            row["reference"] = round(self.reference, 3)
            row["ratio"] = round(self.ratio or 0.0, 4)
        return row


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


@asynccontextmanager
async def stopwatch() -> AsyncIterator[Callable[[], float]]:
    """`async with stopwatch() as elapsed:` ... `elapsed()` is frozen once the block ends."""
    started = time.perf_counter()
    ended: list[float] = []

    def elapsed() -> float:
        return (ended[0] if ended else time.perf_counter()) - started

    try:
        yield elapsed
    finally:
        ended.append(time.perf_counter())


@dataclass
class Context:
    """The run's infrastructure and size.

    - `admin_url`: a PostgreSQL database to create others from; `nats_url`: a NATS server with
      JetStream, used only by this run (streams are deleted between modules).
    - `scale`: multiplies every module's default sizes (`size(20_000)`); 1 for `make bench`,
      tiny for the smoke test.
    - `repeat`: how many times to measure a rate; report the median (`median_of`), since the
      machine is shared and one measurement is noisy.
    """

    admin_url: str
    nats_url: str
    scale: float = 1.0
    repeat: int = 3
    _template: str | None = None
    _databases: list[str] = field(default_factory=list)

    def size(self, default: int) -> int:
        return max(10, int(default * self.scale))

    async def median_of(self, measure: Callable[[int], Awaitable[float]]) -> float:
        """The median of `repeat` measurements; `measure(i)` gets the repetition's number."""
        return statistics.median([await measure(i) for i in range(self.repeat)])

    async def fresh_database(self) -> str:
        """A new database with every service's migrations applied (cloned from a template
        migrated once per run); dropped at the end of the run."""
        if self._template is None:
            self._template = f"bench_template_{uuid.uuid4().hex[:8]}"
            await self._admin(f'CREATE DATABASE "{self._template}"')
            self._databases.append(self._template)
            await asyncio.to_thread(migrate_all, self._url_of(self._template))
        name = f"bench_{uuid.uuid4().hex[:12]}"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        self._databases.insert(0, name)
        return self._url_of(name)

    def settings(self, service: str, database_url: str, **overrides: Any) -> ServiceSettings:
        """A service's settings (its defaults, as in production) on `database_url`."""
        spec = next(s for s in SERVICES if s.name == service)
        return spec.settings(
            environment="test", database_url=database_url, nats_url=self.nats_url, **overrides
        )

    async def empty_nats(self) -> None:
        """Every stream emptied: deleted and set up anew by `barometer nats setup`'s code."""
        await reset_topology(self.nats_url, lambda name: self.settings(name, ""))

    async def close(self) -> None:
        for name in self._databases:
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._databases.clear()

    def _url_of(self, database: str) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{database}"

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


Benchmark = Callable[[Context], Awaitable[list[Row]]]
