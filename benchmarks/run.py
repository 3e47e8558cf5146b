"""`make bench`: start an embedded PostgreSQL (not durable: fsync off, like the tests) and NATS,
run every `benchmarks/bench_*.py` module, print a table, write `.bench/latest.json`.

    python -m benchmarks.run [--scale 1.0] [--repeat 3] [--only messaging] [--output .bench/latest.json]
                             [--database-url URL --nats-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import pkgutil
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import benchmarks
from barometer_cli.embedded import EmbeddedNats, EmbeddedPostgres
from benchmarks.harness import Benchmark, Context, Row
from shared.settings import PROJECT_ROOT

DEFAULT_OUTPUT = PROJECT_ROOT / ".bench" / "latest.json"


def modules(only: Sequence[str] = ()) -> list[tuple[str, Benchmark]]:
    """Every `bench_<topic>` module's `run`, by topic; `only` keeps the topics named. A module
    without `run(ctx)` is a standalone script: reported and left out."""
    found = []
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        topic = info.name.removeprefix("bench_")
        if info.name.startswith("bench_") and (not only or topic in only):
            module = importlib.import_module(f"benchmarks.{info.name}")
            run = getattr(module, "run", None)
            if run is None:
                print(f"skipped {info.name}: no `async def run(ctx)`", file=sys.stderr)
                continue
            found.append((topic, run))
    return found


async def run_all(ctx: Context, only: Sequence[str] = ()) -> list[Row]:
    rows: list[Row] = []
    try:
        for topic, bench in modules(only):
            print(f"… {topic}", file=sys.stderr, flush=True)
            await ctx.empty_nats()
            rows.extend(Row.of(row) for row in await bench(ctx))
    finally:
        await ctx.close()
    return rows


def table(rows: Sequence[Row]) -> str:
    header = ("benchmark", "value", "unit", "reference", "ratio")
    lines = [
        (
            row.name,
            f"{row.value:,.0f}" if row.value >= 100 else f"{row.value:.3g}",
            row.unit,
            "" if row.reference is None else f"{row.reference:,.0f}",
            "" if row.ratio is None else f"{row.ratio:.2f}",
        )
        for row in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines, strict=True)]
    out = []
    for i, line in enumerate([header, *lines]):
        cells = [
            cell.ljust(w) if j in (0, 2) else cell.rjust(w)
            for j, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("| " + " | ".join(cells) + " |")
        if i == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def write(rows: Sequence[Row], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps([row.as_json() for row in rows], indent=2) + "\n")


async def main_async(args: argparse.Namespace) -> list[Row]:
    started: list[EmbeddedPostgres | EmbeddedNats] = []
    with tempfile.TemporaryDirectory(prefix="barometre-bench-") as tmp:
        try:
            database_url, nats_url = args.database_url, args.nats_url
            if not database_url:
                pg = EmbeddedPostgres(Path(tmp) / "pg", durable=False)
                await asyncio.to_thread(pg.start)
                started.append(pg)
                database_url = pg.url
            if not nats_url:
                server = EmbeddedNats(Path(tmp) / "nats")
                await asyncio.to_thread(server.start)
                started.append(server)
                nats_url = server.url
            ctx = Context(
                admin_url=database_url, nats_url=nats_url, scale=args.scale, repeat=args.repeat
            )
            rows = await run_all(ctx, args.only)
        finally:
            for child in reversed(started):
                child.stop()
    write(rows, args.output)
    return rows


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="benchmarks.run", description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="multiplies every size (default 1)")
    p.add_argument("--repeat", type=int, default=3, help="measurements per rate (median)")
    p.add_argument("--only", action="append", default=[], help="a topic (bench_<topic>.py)")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    p.add_argument("--database-url", help="a PostgreSQL to create bench databases on")
    p.add_argument("--nats-url", help="a NATS for this run only: its streams are deleted")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    rows = asyncio.run(main_async(args))
    print(table(rows))
    print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
