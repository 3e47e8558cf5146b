"""The embedded PostgreSQL runs wherever the checkout is, as root or not, and changes the
permissions of nothing outside its own data directory."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import asyncpg
import pytest

from barometer_cli import embedded
from barometer_cli.embedded import EmbeddedPostgres, EmbeddedUnavailable


def _modes(path: Path) -> dict[Path, int]:
    return {f: stat.S_IMODE(f.stat().st_mode) for f in path.parents if f.exists()}


async def test_runs_under_a_private_parent_and_keeps_its_data(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)  # whatever the umask
    data_dir = private / "clone" / ".data" / "postgres"
    before = _modes(data_dir)

    pg = EmbeddedPostgres(data_dir, durable=False)
    with pg:
        conn = await asyncpg.connect(pg.url)
        try:
            await conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
        finally:
            await conn.close()

    # Restarted from the same directory (as a second `make run` would), the data is there.
    with EmbeddedPostgres(data_dir, durable=False) as again:
        conn = await asyncpg.connect(again.url)
        try:
            assert await conn.fetchval("SELECT n FROM kept") == 42
        finally:
            await conn.close()

    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    after = _modes(data_dir)
    assert {p: after[p] for p in before} == before  # no parent opened up
    # The data stays the checkout's own: owned by whoever runs the tests, mode 0700.
    assert data_dir.stat().st_uid == os.geteuid()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_says_why_and_what_to_do_where_it_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root without user namespaces, the fallback user cannot enter a 0700 parent.
    monkeypatch.setattr(embedded, "_user_namespace_prefix", lambda: None)
    private = tmp_path / "private"
    private.mkdir()
    private.chmod(0o700)
    pg = EmbeddedPostgres(private / "pg", durable=False)
    with pytest.raises(EmbeddedUnavailable) as refused:
        pg._run_as(EmbeddedPostgres.bin_dir(), euid=0)
    message = str(refused.value)
    # It names the first directory on the way (to the binaries, then to the data) that others
    # cannot enter: the checkout's own parent when it is private, else `private` or above.
    named = re.search(r"cannot enter (\S+) \(mode", message)
    assert named, message
    closed = Path(named.group(1))
    assert not closed.stat().st_mode & stat.S_IXOTH
    on_the_way = {private, *private.parents, *EmbeddedPostgres.bin_dir().parents}
    assert closed in on_the_way
    assert "DATABASE_URL" in message
    assert "normal user" in message
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert not (private / "pg").exists()


def test_a_second_server_on_the_same_data_is_refused_plainly(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    with EmbeddedPostgres(data_dir, durable=False):
        second = EmbeddedPostgres(data_dir, durable=False)
        with pytest.raises(RuntimeError, match="already runs on"):
            second.start()
        assert not second.running
