"""`barometer dev` (what `make run` calls): the whole system on one machine.

PostgreSQL and NATS are the configured ones (`DATABASE_URL`, `NATS_URL`) or embedded ones
under `.data/`; the four services run as child processes; Ctrl-C stops everything started here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from barometer_cli.catalog import SERVICES, ServiceSpec, migrate_all
from barometer_cli.demo import DemoLinks
from barometer_cli.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    EmbeddedUnavailable,
    die_with_parent,
    port_is_open,
    stop_process,
)
from barometer_cli.nats_setup import run_setup
from barometer_cli.territories import ensure_territories
from shared.auth import Role, ensure_dev_keys, issue_token
from shared.settings import ServiceSettings, default_data_dir

READY_TIMEOUT_SECONDS = 120


@dataclass
class Infrastructure:
    database_url: str
    nats_url: str
    embedded: list[EmbeddedPostgres | EmbeddedNats] = field(default_factory=list)


@contextlib.contextmanager
def embedded_infrastructure(
    *, need_nats: bool = True, need_database: bool = True
) -> Iterator[Infrastructure]:
    """The configured servers, or embedded ones (started here, stopped on exit)."""
    data_dir = default_data_dir()
    infra = Infrastructure(
        database_url=os.environ.get("DATABASE_URL", ""), nats_url=os.environ.get("NATS_URL", "")
    )
    try:
        if need_database and not infra.database_url:
            pg = EmbeddedPostgres(data_dir / "postgres")
            infra.embedded.append(pg)
            try:
                pg.start()
            except (EmbeddedUnavailable, RuntimeError) as exc:
                raise SystemExit(f"cannot start the embedded PostgreSQL: {exc}") from None
            infra.database_url = pg.url
            _say(f"PostgreSQL (embedded)  {pg.url}  data in {pg.data_dir}")
        if need_nats and not infra.nats_url:
            server = EmbeddedNats(data_dir / "nats")
            infra.embedded.append(server)
            try:
                server.start()
            except RuntimeError as exc:
                raise SystemExit(f"cannot start the embedded NATS: {exc}") from None
            infra.nats_url = server.url
            _say(f"NATS (embedded)        {server.url}  JetStream store in {server.store_dir}")
        yield infra
    finally:
        for child in reversed(infra.embedded):
            child.stop()


def _say(line: str) -> None:
    print(line, flush=True)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _start_service(
    spec: ServiceSpec, infra: Infrastructure, log_path: Path
) -> subprocess.Popen[bytes]:
    port = spec.settings().port
    if port_is_open(port):
        raise SystemExit(
            f"port {port} is already in use; stop what uses it or set {spec.env_prefix}PORT"
        )
    env = {
        **os.environ,
        "DATABASE_URL": infra.database_url,
        "NATS_URL": infra.nats_url,
        "BAROMETER_DATA_DIR": str(default_data_dir()),
    }
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", spec.module],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: die_with_parent(signal.SIGTERM),
            start_new_session=True,  # Ctrl-C reaches only this runner, which stops them in order
        )


class _LogFollower:
    """Echoes what the services append to their log files, once the summary is printed."""

    def __init__(self, paths: list[Path]) -> None:
        self.offsets = {path: path.stat().st_size if path.exists() else 0 for path in paths}

    def skip_to_end(self) -> None:
        for path in self.offsets:
            self.offsets[path] = path.stat().st_size if path.exists() else 0

    def echo_new_lines(self) -> None:
        for path, offset in self.offsets.items():
            if not path.exists():
                continue
            with path.open("rb") as log:
                log.seek(offset)
                chunk = log.read()
            complete = chunk.rfind(b"\n") + 1  # a line still being written waits
            if complete:
                sys.stdout.write(chunk[:complete].decode("utf-8", "replace"))
                sys.stdout.flush()
                self.offsets[path] = offset + complete


def wait_ready(
    urls: dict[str, str],
    processes: dict[str, subprocess.Popen[bytes]],
    *,
    seconds: float = READY_TIMEOUT_SECONDS,
) -> None:
    """Until every service answers 200 on /health/ready; fails if one exits or time runs out."""
    deadline = time.monotonic() + seconds
    pending = dict(urls)
    while pending:
        for name, url in list(pending.items()):
            if processes[name].poll() is not None:
                raise RuntimeError(
                    f"{name} exited during start-up (code {processes[name].returncode})"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    del pending[name]
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {seconds}s: {sorted(pending)}")
        time.sleep(0.1)


def run_dev(*, load_demo: bool = True) -> int:
    # Explicit handlers: a shell may start us with SIGINT ignored (background jobs).
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        with embedded_infrastructure() as infra:
            data_dir = default_data_dir()
            ensure_dev_keys(data_dir)
            _say("migrating the four services...")
            migrate_all(infra.database_url)
            ensure_territories(infra.database_url, say=_say)  # before the demo names communes
            _say("setting up the NATS streams and consumers...")
            run_setup(infra.nats_url, say=lambda line: _say(f"  {line}"))
            logs_dir = data_dir / "logs"
            logs_dir.mkdir(parents=True, exist_ok=True)
            log_paths = {spec.name: logs_dir / f"{spec.name}.log" for spec in SERVICES}
            follower = _LogFollower(list(log_paths.values()))
            urls = {}
            _say("starting the services...")
            for spec in SERVICES:
                settings = spec.settings()
                host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
                urls[spec.name] = f"http://{host}:{settings.port}"
                processes[spec.name] = _start_service(spec, infra, log_paths[spec.name])
            try:
                wait_ready(urls, processes)
            except RuntimeError as exc:
                raise SystemExit(f"{exc}; see the logs in {logs_dir}") from exc
            operator = issue_token(
                ServiceSettings(data_dir=data_dir), role=Role.OPERATOR, subject="dev-operator"
            )
            links = None
            if load_demo:
                from barometer_cli import demo

                links = demo.load_demo(urls, operator, say=_say)
            follower.skip_to_end()  # start-up and demo traffic stay in the files
            _summary(urls, operator, links, logs_dir)
            while True:
                for name, process in processes.items():
                    if process.poll() is not None:
                        follower.echo_new_lines()
                        _say(
                            f"{name} stopped unexpectedly (code {process.returncode}); "
                            f"see {log_paths[name]}; stopping all"
                        )
                        return 1
                follower.echo_new_lines()
                time.sleep(0.3)
    except (KeyboardInterrupt, _Stop):
        _say("\nstopping...")
        return 0
    finally:
        for process in processes.values():
            with contextlib.suppress(Exception):
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            stop_process(process, signal.SIGTERM, timeout=15)
        _say("all stopped.")


def _summary(urls: dict[str, str], operator: str, links: DemoLinks | None, logs_dir: Path) -> None:
    lines = ["", "Baromètre is running:"]
    lines += [f"  {name:<10} {url}   (API docs: {url}/docs)" for name, url in urls.items()]
    lines += [
        "",
        "Dev operator token (12 h; `.venv/bin/barometer token --role operator` makes another):",
    ]
    lines += [f"  export TOKEN={operator}"]
    if links:
        auth = '-H "Authorization: Bearer $TOKEN"'
        lines += [
            "",
            "The demo (2025 and 2026 editions, published):",
            f"  national barometer (public):  curl {links.barometer}",
            f"  laureates (public):           curl {links.laureates}",
            f"  a structure's scorecard:      curl {auth} {links.scorecard}",
            f"  its personalised report:      curl {auth} {links.report}.html -o report.html",
            f"                                curl {auth} {links.report}.pdf -o report.pdf",
        ]
    lines += [
        "",
        f"Full logs: {logs_dir}/<service>.log (the services' requests follow below).",
        "Ctrl-C stops everything started here.",
        "",
    ]
    _say("\n".join(lines))
