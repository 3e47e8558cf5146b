"""The four services as real processes (as `barometer dev` runs them), on free ports, against
this test's database and a NATS server owned by the test (so it can be killed and restarted).
NATS keeps JetStream on disk and syncs every message before acknowledging it, as production
needs (README, "Durability")."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from barometer_cli.catalog import SERVICES
from barometer_cli.embedded import EmbeddedNats
from barometer_cli.nats_setup import setup_topology
from tests.conftest import Infra, settings_for_tests
from tests.e2e.processes import ServiceProcess, service_process, stop_all, wait_all_ready


@dataclass
class System:
    services: dict[str, ServiceProcess]
    nats: EmbeddedNats
    logs: Path

    @property
    def urls(self) -> dict[str, str]:
        return {name: p.url for name, p in self.services.items()}

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return {name: p.process for name, p in self.services.items() if p.process is not None}


def set_up_streams(nats_url: str) -> None:
    """`barometer nats setup` on a fresh server; callable from a running event loop too."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, setup_topology(nats_url, settings_for_tests)).result()


@contextmanager
def running_system(infra: Infra, database_url: str, root: Path) -> Iterator[System]:
    """NATS (durable) and the four services on `database_url`, ready; stopped on exit."""
    nats_server = EmbeddedNats(root / "nats", sync_always=True)
    nats_server.start()
    set_up_streams(nats_server.url)
    logs = root / "logs"
    services = {
        spec.name: service_process(
            spec.name, database_url=database_url, nats_url=nats_server.url,
            data_dir=infra.data_dir, logs=logs,
        )
        for spec in SERVICES
    }  # fmt: skip
    try:
        for process in services.values():
            process.start()
        wait_all_ready(services.values())
        yield System(services=services, nats=nats_server, logs=logs)
    finally:
        stop_all(services.values())
        nats_server.stop()


@pytest.fixture
def system(infra: Infra, database_url: str, tmp_path: Path) -> Iterator[System]:
    with running_system(infra, database_url, tmp_path) as system:
        yield system
