"""Alembic glue: each service keeps its own history and version table in its own schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.settings import ServiceSettings, to_asyncpg_url


def alembic_config(migrations_dir: Path, database_url: str, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("schema", schema)
    return config


def upgrade(migrations_dir: Path, database_url: str, schema: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(migrations_dir, database_url, schema), revision)


def run_env(target_metadata: MetaData, settings: ServiceSettings) -> None:
    """Body of a service's `migrations/env.py` (online mode, asyncpg).

    `barometer migrate` passes the URL and schema; a plain `alembic -c services/<svc>/alembic.ini
    upgrade head` takes them from the service's settings (environment variables).
    """
    config = context.config
    schema = config.get_main_option("schema") or settings.database_schema
    url = config.get_main_option("sqlalchemy.url") or settings.database_url
    if not url:
        raise RuntimeError("no database URL: set DATABASE_URL or use `barometer migrate`")

    def run(connection: Connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.execute(text(f'SET search_path TO "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=False,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(to_asyncpg_url(url))
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())


def create_messaging_tables() -> None:
    """For a service's first migration: outbox, inbox and dead letters as `shared.tables` has them.

    A later change to those tables ships as a new migration in every service.
    """
    from alembic import op

    from shared.db import service_metadata
    from shared.tables import messaging_tables

    tables = messaging_tables(service_metadata())
    bind = op.get_bind()
    for table in (tables.outbox, tables.inbox, tables.dead_letters):
        table.create(bind)
