"""Housekeeping: published outbox rows, inbox ids and idempotency keys past their retention are
deleted in bounded batches; what is still needed (unpublished or parked rows, recent ids)
stays; `barometer prune` does the same pass at once."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from barometer_cli.main import main
from services.registry.models import idempotency
from services.registry.models import tables as registry_tables
from shared.db import create_engine, create_session_factory
from shared.housekeeping import PRUNED, prune, targets

DAY = 86400.0


async def seed(conn: asyncpg.Connection, schema: str, *, old: int, recent: int) -> None:
    """`old` and `recent` rows of each kind; `old` ones 30 days back."""
    for i in range(old + recent):
        age = "30 days" if i < old else "1 hour"
        await conn.execute(
            f"INSERT INTO {schema}.outbox (event_id, subject, envelope, published_at) "
            f"VALUES ($1, 'registry.edition.created.v1', '{{}}', now() - interval '{age}')",
            uuid.uuid4(),
        )
        await conn.execute(
            f"INSERT INTO {schema}.inbox (consumer, event_id, subject, processed_at) "
            f"VALUES ('c', $1, 's', now() - interval '{age}')",
            uuid.uuid4(),
        )
    # Old but still needed: never published, and parked.
    await conn.execute(
        f"INSERT INTO {schema}.outbox (event_id, subject, envelope, created_at) "
        "VALUES ($1, 's', '{}', now() - interval '60 days')",
        uuid.uuid4(),
    )
    await conn.execute(
        f"INSERT INTO {schema}.outbox (event_id, subject, envelope, created_at, parked_at) "
        "VALUES ($1, 's', '{}', now() - interval '60 days', now() - interval '59 days')",
        uuid.uuid4(),
    )


async def counts(conn: asyncpg.Connection, schema: str) -> dict[str, int]:
    return {
        "published": await conn.fetchval(
            f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NOT NULL"
        ),
        "unpublished": await conn.fetchval(
            f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL"
        ),
        "inbox": await conn.fetchval(f"SELECT count(*) FROM {schema}.inbox"),
    }


async def test_prune_deletes_what_is_past_retention_in_batches(
    make_settings: Any, database_url: str
) -> None:
    settings = make_settings("registry", prune_batch_size=3)
    conn = await asyncpg.connect(database_url)
    engine = create_engine(settings)
    try:
        await seed(conn, "registry", old=7, recent=2)
        await conn.execute(
            "INSERT INTO registry.idempotency_keys (caller, key, request_hash, created_at) "
            "VALUES ('op', 'old', 'h', now() - interval '2 days'), ('op', 'new', 'h', now())"
        )
        before = PRUNED.labels("inbox")._value.get()
        deleted = await prune(
            create_session_factory(engine),
            targets(settings, registry_tables, [idempotency]),
            settings.prune_batch_size,
        )
        assert deleted == {"outbox": 7, "inbox": 7, "idempotency_keys": 1}
        assert await counts(conn, "registry") == {"published": 2, "unpublished": 2, "inbox": 2}
        keys = await conn.fetch("SELECT key FROM registry.idempotency_keys")
        assert [k["key"] for k in keys] == ["new"]
        assert PRUNED.labels("inbox")._value.get() - before == 7
        again = await prune(
            create_session_factory(engine),
            targets(settings, registry_tables, [idempotency]),
            settings.prune_batch_size,
        )
        assert set(again.values()) == {0}
    finally:
        await engine.dispose()
        await conn.close()


def test_barometer_prune_runs_the_same_pass(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    async def prepare() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await seed(conn, "scoring", old=4, recent=1)
        finally:
            await conn.close()

    asyncio.run(prepare())
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    assert main(["prune", "--service", "scoring"]) == 0
    assert "scoring: deleted outbox 4, inbox 4" in capsys.readouterr().out
