"""Test infrastructure: a real PostgreSQL and a real NATS with JetStream, started once per
session on free ports (or taken from TEST_DATABASE_URL / TEST_NATS_URL), every service's
migrations applied to a template database with the bundled territories imported, and a fresh
database cloned from it per test."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from barometer_cli.catalog import SERVICES, migrate_all
from barometer_cli.embedded import EmbeddedNats, EmbeddedPostgres, EmbeddedUnavailable
from barometer_cli.nats_setup import reset_topology, settings_from_environment
from services.registry.settings import RegistrySettings
from services.registry.territories.service import import_into_database
from shared.auth import Role, issue_token
from shared.settings import ServiceSettings

TEMPLATE_DB = "barometre_test_template"


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


@dataclass
class Infra:
    admin_url: str  # a database to run CREATE/DROP DATABASE from
    nats_url: str
    data_dir: Path  # dev keys for tokens, shared by the session


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    root = tmp_path_factory.mktemp("infra")
    started: list[EmbeddedPostgres | EmbeddedNats] = []
    database_url = os.environ.get("TEST_DATABASE_URL")
    if not database_url:
        pg = EmbeddedPostgres(root / "pg", durable=False)
        try:
            pg.start()
        except EmbeddedUnavailable as exc:  # one clear message, not a stack per test
            pytest.exit(str(exc), returncode=3)
        started.append(pg)
        database_url = pg.url
    nats_url = os.environ.get("TEST_NATS_URL")
    if not nats_url:
        server = EmbeddedNats(root / "nats")
        server.start()
        started.append(server)
        nats_url = server.url
    try:
        yield Infra(admin_url=database_url, nats_url=nats_url, data_dir=root / "data")
    finally:
        for child in reversed(started):
            child.stop()


async def _admin(infra: Infra, sql: str) -> None:
    conn = await asyncpg.connect(infra.admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_url(infra: Infra) -> AsyncIterator[str]:
    await _admin(infra, f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
    await _admin(infra, f'CREATE DATABASE "{TEMPLATE_DB}"')
    url = _with_database(infra.admin_url, TEMPLATE_DB)

    await asyncio.to_thread(migrate_all, url)
    # The national territories, imported once per session (tests clone this database).
    await import_into_database(RegistrySettings(environment="test", database_url=url))
    yield url
    await _admin(infra, f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')


@pytest.fixture
async def database_url(infra: Infra, template_url: str) -> AsyncIterator[str]:
    """A fresh, fully migrated database for one test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    await _admin(infra, f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    try:
        yield _with_database(infra.admin_url, name)
    finally:
        await _admin(infra, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings_for_tests(name: str) -> ServiceSettings:
    """A service's settings as the tests run it (what the topology is set up with)."""
    return settings_from_environment(name, environment="test")


@pytest.fixture
async def nats_url(infra: Infra) -> str:
    """The session's NATS with only the topology of `barometer nats setup` (every stream and
    durable consumer, empty), so a test sees only its own events."""
    await reset_topology(infra.nats_url, settings_for_tests)
    return infra.nats_url


SettingsFactory = Callable[..., ServiceSettings]


@pytest.fixture
def make_settings(infra: Infra, database_url: str, nats_url: str) -> SettingsFactory:
    """Settings for one service, pointed at this test's database and NATS."""

    def make(service: str, **overrides: Any) -> ServiceSettings:
        spec = next(s for s in SERVICES if s.name == service)
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": database_url,
            "nats_url": nats_url,
            "data_dir": infra.data_dir,
            "outbox_poll_seconds": 0.05,
            "consumer_nak_delay_seconds": 0.2,
            "db_pool_size": 3,
            "nats_start_check_seconds": 3.0,
        }
        values.update(overrides)
        return spec.settings(**values)

    return make


@pytest.fixture
def token(infra: Infra) -> Callable[..., dict[str, str]]:
    """Authorization headers for a role (and subject, scopes)."""
    settings = ServiceSettings(environment="test", data_dir=infra.data_dir)

    def make(
        role: str, subject: str | None = None, scopes: list[str] | None = None
    ) -> dict[str, str]:
        value = issue_token(
            settings, role=Role(role), subject=subject or f"{role}-test", scopes=scopes
        )
        return {"Authorization": f"Bearer {value}"}

    return make
