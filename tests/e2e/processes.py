"""Service processes for the tests, as `barometer dev` runs them (`python -m services.<svc>`), on
free ports against a given database and NATS: started, stopped, SIGKILLed and restarted, and
read from (readiness, metrics, log tails)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from barometer_cli.catalog import SERVICES
from barometer_cli.dev import wait_ready
from barometer_cli.embedded import free_port, stop_process

# Quicker than the defaults, so events flow within a test's patience.
TEST_SETTINGS = {"OUTBOX_POLL_SECONDS": "0.05", "CONSUMER_NAK_DELAY_SECONDS": "0.2"}


@dataclass
class ServiceProcess:
    """One process of a service; `start` again after `kill` or `stop` (same port, same log)."""

    service: str
    label: str  # e.g. `scoring-2` when a service runs several processes
    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.label} is not running"
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        module = next(s for s in SERVICES if s.name == self.service).module
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module], env=self.env, stdout=out, stderr=out
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown, whatever the process was doing."""
        if self.process is not None:
            stop_process(self.process, signal.SIGKILL, timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGTERM, timeout=15)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def counter(self, name: str, **labels: str) -> float:
        """The sum of a Prometheus counter's samples matching `labels`, from `/metrics`."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == f"{name}_total" and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    total += sample.value
        return total


def service_process(
    service: str,
    *,
    database_url: str,
    nats_url: str,
    data_dir: Path,
    logs: Path,
    label: str | None = None,
    **settings: str,
) -> ServiceProcess:
    """A process of `service` (not started), its settings given without their prefix
    (`CONSUMER_BATCH_SIZE="8"`)."""
    prefix = next(s for s in SERVICES if s.name == service).env_prefix
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "ENVIRONMENT": "test",
        "BAROMETER_DATA_DIR": str(data_dir),
        f"{prefix}PORT": str(port),
        **{f"{prefix}{k}": v for k, v in {**TEST_SETTINGS, **settings}.items()},
    }
    label = label or service
    logs.mkdir(parents=True, exist_ok=True)
    return ServiceProcess(service, label, env, port, logs / f"{label}.log")


def wait_all_ready(processes: Iterable[ServiceProcess], seconds: float = 180) -> None:
    """Until each answers 200 on /health/ready; the failure names who and shows its log."""
    by_label = {p.label: p for p in processes}
    popen = {label: p.process for label, p in by_label.items() if p.process is not None}
    try:
        wait_ready({label: p.url for label, p in by_label.items()}, popen, seconds=seconds)
    except RuntimeError as exc:
        tails = {label: p.tail() for label, p in by_label.items()}
        raise RuntimeError(f"{exc}; service logs: {tails}") from exc


def stop_all(processes: Iterable[ServiceProcess]) -> None:
    for p in processes:
        p.stop()
