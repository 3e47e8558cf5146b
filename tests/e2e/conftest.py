"""The four services as real processes (as `barometer dev` runs them), on free ports, against
this test's database and a NATS server owned by the test (so it can be stopped and restarted)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from barometer_cli.catalog import SERVICES
from barometer_cli.dev import wait_ready
from barometer_cli.embedded import EmbeddedNats, free_port, stop_process
from tests.conftest import Infra


@dataclass
class System:
    urls: dict[str, str]
    nats: EmbeddedNats
    processes: dict[str, subprocess.Popen[bytes]]
    logs: Path


@pytest.fixture
def system(infra: Infra, database_url: str, tmp_path: Path) -> Iterator[System]:
    nats_server = EmbeddedNats(tmp_path / "nats")
    nats_server.start()
    logs = tmp_path / "logs"
    logs.mkdir()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    urls: dict[str, str] = {}
    try:
        for spec in SERVICES:
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "NATS_URL": nats_server.url,
                "ENVIRONMENT": "test",
                "BAROMETER_DATA_DIR": str(infra.data_dir),
                f"{spec.env_prefix}PORT": str(port),
                f"{spec.env_prefix}OUTBOX_POLL_SECONDS": "0.05",
                f"{spec.env_prefix}CONSUMER_NAK_DELAY_SECONDS": "0.2",
            }
            with (logs / f"{spec.name}.log").open("wb") as log:
                processes[spec.name] = subprocess.Popen(
                    [sys.executable, "-m", spec.module], env=env, stdout=log, stderr=log
                )
            urls[spec.name] = f"http://127.0.0.1:{port}"
        system = System(urls=urls, nats=nats_server, processes=processes, logs=logs)
        try:
            wait_ready(urls, processes, seconds=180)  # a loaded machine starts slowly
        except RuntimeError as exc:
            tails = {name: (logs / f"{name}.log").read_text()[-3000:] for name in processes}
            raise RuntimeError(f"{exc}; service logs: {tails}") from exc
        yield system
    finally:
        for process in processes.values():
            stop_process(process, signal.SIGTERM, timeout=15)
        nats_server.stop()
