"""`barometer`: run the whole system for development, migrate, serve one service, mint tokens."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from datetime import timedelta
from pathlib import Path

from barometer_cli.catalog import SERVICES, ServiceSpec
from shared.auth import Role, issue_token
from shared.settings import ServiceSettings


def _cmd_token(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    token = issue_token(
        settings,
        role=Role(args.role),
        subject=args.subject or f"dev-{args.role}",
        scopes=args.scope,
        ttl=timedelta(hours=args.ttl_hours),
    )
    print(token)
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    from barometer_cli.dev import embedded_infrastructure
    from barometer_cli.territories import ensure_territories

    with embedded_infrastructure(need_nats=False) as infra:
        for spec in _selected(args):
            url = spec.settings().database_url or infra.database_url
            spec.migrate(url)
            print(f"{spec.name}: migrated to head")
            if spec.name == "registry":  # a deployment starts with the bundled territories
                ensure_territories(url, say=print)
    return 0


def _selected(args: argparse.Namespace) -> list[ServiceSpec]:
    """The services named with `--service` (repeatable), or all four."""
    return [s for s in SERVICES if not args.service or s.name in args.service]


def _cmd_nats_setup(args: argparse.Namespace) -> int:
    from barometer_cli.dev import embedded_infrastructure
    from barometer_cli.nats_setup import run_setup
    from shared.topology import TopologyMismatch

    with embedded_infrastructure(need_database=False) as infra:
        try:
            run_setup(infra.nats_url)
        except TopologyMismatch as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 1
    return 0


def _cmd_prune(args: argparse.Namespace) -> int:
    import asyncio

    from barometer_cli.dev import embedded_infrastructure
    from barometer_cli.housekeeping import prune_service

    with embedded_infrastructure(need_nats=False) as infra:
        for spec in _selected(args):
            deleted = asyncio.run(prune_service(spec, infra.database_url))
            counts = ", ".join(f"{table} {n}" for table, n in deleted.items())
            print(f"{spec.name}: deleted {counts}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    next(s for s in SERVICES if s.name == args.service).serve()
    return 0


def _cmd_import_territories(args: argparse.Namespace) -> int:
    from barometer_cli.territories import import_territories

    return import_territories(args.path, args.vintage)


def _cmd_dev(args: argparse.Namespace) -> int:
    from barometer_cli.dev import run_dev

    return run_dev(load_demo=not args.no_demo)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from barometer_cli.simulate import DEFAULT_URLS, Options, SimulationError, run

    urls = {name: getattr(args, f"{name}_url") or os.environ.get(f"{name.upper()}_URL") or url
            for name, url in DEFAULT_URLS.items()}  # fmt: skip
    options = Options(structures=args.structures, seed=args.seed, year=args.year,
                      concurrency=args.concurrency, wait_scores=not args.no_wait)  # fmt: skip
    try:
        run(options, urls)
    except SimulationError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="barometer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser(
        "dev", help="start PostgreSQL and NATS if not configured, migrate, run the 4 services"
    )
    dev.add_argument("--no-demo", action="store_true", help="do not load the demo edition")
    dev.set_defaults(func=_cmd_dev)

    migrate = commands.add_parser("migrate", help="alembic upgrade head, service by service")
    migrate.add_argument("--service", action="append", choices=[s.name for s in SERVICES])
    migrate.set_defaults(func=_cmd_migrate)

    nats_cmd = commands.add_parser("nats", help="NATS JetStream operations")
    nats_commands = nats_cmd.add_subparsers(dest="nats_command", required=True)
    setup = nats_commands.add_parser(
        "setup",
        help="create or update every stream and durable consumer (idempotent)",
        description="Create or update the streams and durable consumers of shared/topology.py "
        "on NATS_URL (or the embedded NATS under .data), each with the settings of the service "
        "that owns it (NATS_REPLICAS, STREAM_MAX_AGE_SECONDS, STREAM_MAX_BYTES, "
        "<SVC>_OUTBOX_*, <SVC>_CONSUMER_ACK_WAIT_SECONDS, <SVC>_CONSUMER_MAX_ACK_PENDING), and "
        "print what was created, updated or left unchanged.",
    )
    setup.set_defaults(func=_cmd_nats_setup)

    prune = commands.add_parser(
        "prune",
        help="delete published outbox rows, inbox ids and idempotency keys past their retention",
        description="What each service's housekeeping task does every PRUNE_INTERVAL_SECONDS, "
        "at once: rows older than <SVC>_OUTBOX_RETENTION_SECONDS (published outbox rows), "
        "<SVC>_INBOX_RETENTION_SECONDS (inbox ids) and <SVC>_IDEMPOTENCY_RETENTION_SECONDS "
        "(idempotency keys), in batches of <SVC>_PRUNE_BATCH_SIZE.",
    )
    prune.add_argument("--service", action="append", choices=[s.name for s in SERVICES])
    prune.set_defaults(func=_cmd_prune)

    serve = commands.add_parser("serve", help="run one service (settings from the environment)")
    serve.add_argument("service", choices=[s.name for s in SERVICES])
    serve.set_defaults(func=_cmd_serve)

    registry = commands.add_parser("registry", help="registry operations")
    registry_commands = registry.add_subparsers(dest="registry_command", required=True)
    territories = registry_commands.add_parser(
        "import-territories",
        help="import régions, départements, communes and EPCI (Etalab decoupage-administratif)",
        description="Upsert a whole vintage of territories (idempotent) and print the counts. "
        "PATH is a folder with regions, departements, communes and epci .json or .json.gz "
        "files; without PATH, the data set bundled with the registry.",
    )
    territories.add_argument(
        "path", nargs="?", type=Path, metavar="PATH", help="folder of the data set"
    )
    territories.add_argument(
        "--vintage", type=int, help="year of the data set (required with PATH; default: bundled)"
    )
    territories.set_defaults(func=_cmd_import_territories)

    simulate = commands.add_parser(
        "simulate",
        help="build a realistic edition through the running services' APIs (resumable)",
        description="Structures on real territories, registrations, plans, assignments, "
        "submissions and validations, deterministic for a seed; rerun to resume. Service URLs: "
        "--<service>-url, else <SERVICE>_URL, else barometer dev's ports 8001-8004.",
    )
    simulate.add_argument(
        "--structures", type=int, default=3_500, help="how many (35,000: national)"
    )
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument(
        "--year", type=int, default=2027, help="the edition's year (one per year)"
    )
    simulate.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    simulate.add_argument("--no-wait", action="store_true", help="do not wait for the scores")
    for name in ("registry", "fieldwork", "scoring", "reporting"):
        simulate.add_argument(f"--{name}-url")
    simulate.set_defaults(func=_cmd_simulate)

    token = commands.add_parser("token", help="print a development bearer token")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--subject", help="who the token speaks for (a structure or auditor id)")
    token.add_argument("--scope", action="append", default=[], help="a scope (repeatable)")
    token.add_argument(
        "--ttl-hours",
        type=float,
        default=12.0,
        help="lifetime (services refuse more than JWT_MAX_LIFETIME_SECONDS, 12 h by default)",
    )
    token.set_defaults(func=_cmd_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    # platformdirs (through pgserver) warns when XDG_RUNTIME_DIR is unset, as under sudo or cron.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    args = build_parser().parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
