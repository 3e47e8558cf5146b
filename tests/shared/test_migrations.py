"""Each service's migrations build its schema from an empty database, agree with its models
(`alembic check`), and come down again to nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from barometer_cli.catalog import SERVICES
from shared.migrations import check, downgrade, upgrade
from tests.conftest import Infra, _admin, _with_database


@pytest.fixture
async def empty_database(infra: Infra) -> AsyncIterator[str]:
    name = f"m_{uuid.uuid4().hex[:16]}"
    await _admin(infra, f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(infra.admin_url, name)
    finally:
        await _admin(infra, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def tables_of(url: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
    finally:
        await conn.close()
    return {row["tablename"] for row in rows}


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
async def test_migrations_go_up_agree_with_the_models_and_come_down(
    spec: Any, empty_database: str
) -> None:
    schema = spec.settings().database_schema
    where = (spec.migrations_dir, empty_database, schema)
    await asyncio.to_thread(upgrade, *where)
    built = await tables_of(empty_database, schema)
    assert {"outbox", "inbox", "dead_letters", "alembic_version"} <= built
    await asyncio.to_thread(check, *where)  # raises when models and migrations differ
    await asyncio.to_thread(downgrade, *where, "base")
    assert await tables_of(empty_database, schema) == {"alembic_version"}
    await asyncio.to_thread(upgrade, *where)
    assert await tables_of(empty_database, schema) == built
