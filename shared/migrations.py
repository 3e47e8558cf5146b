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


def downgrade(migrations_dir: Path, database_url: str, schema: str, revision: str) -> None:
    command.downgrade(alembic_config(migrations_dir, database_url, schema), revision)


def check(migrations_dir: Path, database_url: str, schema: str) -> None:
    """Raise when the models and the migrations disagree (`alembic check`)."""
    command.check(alembic_config(migrations_dir, database_url, schema))


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
            # The version table lives in the service's schema but is no model of it.
            include_name=lambda name, kind, _parent: (
                not (kind == "table" and name == "alembic_version")
            ),
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
    """For a service's first migration: the outbox, inbox and dead letters as they first were.

    Frozen here on purpose (not built from `shared.tables`, which moves on): a migration must
    create the same tables whenever it runs. Later changes ship as new migrations per service.
    """
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects.postgresql import JSONB

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("envelope", JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("stream_sequence", sa.BigInteger()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )  # fmt: skip
    op.create_index("ix_outbox_unpublished", "outbox", ["id"],
                    postgresql_where=sa.text("published_at IS NULL"))  # fmt: skip
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )  # fmt: skip
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("stream_sequence", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )  # fmt: skip


def batch_messaging_tables() -> None:
    """Second step of every service's messaging tables (frozen): the outbox's retry delay and
    parking, the dead letters' event id."""
    import sqlalchemy as sa
    from alembic import op

    op.add_column("outbox", sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True)))
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL AND parked_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_parked", "outbox", ["id"], postgresql_where=sa.text("parked_at IS NOT NULL")
    )
    op.add_column("dead_letters", sa.Column("event_id", sa.Uuid()))


def unbatch_messaging_tables() -> None:
    """Undo `batch_messaging_tables` (frozen)."""
    import sqlalchemy as sa
    from alembic import op

    op.drop_column("dead_letters", "event_id")
    op.drop_index("ix_outbox_parked", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL")
    )
    op.drop_column("outbox", "parked_at")
    op.drop_column("outbox", "next_attempt_at")


def create_access_log() -> None:
    """The access log table (`shared.access_log`) as it first was (frozen)."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("actor_subject", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("structure_id", sa.Uuid(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
    )
    op.create_index("ix_access_log_structure", "access_log", ["structure_id", "id"])


def drop_access_log() -> None:
    from alembic import op

    op.drop_table("access_log")


def create_partner_access() -> None:
    """The local copy of partners' opt-ins (`shared.opt_ins`) as it first was (frozen)."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "partner_access",
        sa.Column("structure_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("structure_id", "client_id"),
    )


def drop_partner_access() -> None:
    from alembic import op

    op.drop_table("partner_access")
