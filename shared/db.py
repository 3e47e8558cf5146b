"""Async engine and session factory bound to one service's own PostgreSQL schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.settings import ServiceSettings

# Stable constraint names, so migrations written by hand and by autogenerate agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    """Tables stay unqualified: the connection's `search_path` points at the service's schema."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class ConfigurationError(RuntimeError):
    """A setting the service cannot run without is missing or wrong."""


def create_engine(settings: ServiceSettings) -> AsyncEngine:
    if not settings.database_url:
        prefix = settings.model_config.get("env_prefix", "")
        raise ConfigurationError(
            f"no database configured: set {prefix}DATABASE_URL or DATABASE_URL "
            "(or start everything with `barometer dev`)"
        )
    return create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=True,
        # Errors and logs must never carry SQL parameters (names: personal, confidential data).
        hide_parameters=True,
        connect_args={"server_settings": {"search_path": settings.database_schema}},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends normally, rolls back otherwise."""
    async with factory() as session, session.begin():
        yield session


async def database_reachable(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def connection_lost(exc: BaseException) -> bool:
    """Whether an error means the database is out of reach (worth waiting out), not a bad query."""
    if isinstance(exc, OSError | TimeoutError):
        return True
    if type(exc).__name__ in _LOST_CONNECTION_ERRORS:  # the driver's own, used without SQLAlchemy
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    seen: BaseException | None = exc.orig  # the adapter's error wraps asyncpg's own
    while seen is not None:
        if isinstance(seen, OSError) or type(seen).__name__ in _LOST_CONNECTION_ERRORS:
            return True
        seen = seen.__cause__
    return False


# asyncpg's errors for a server shutting down, starting up or gone away.
_LOST_CONNECTION_ERRORS = {
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "CannotConnectNowError",
    "AdminShutdownError",
    "CrashShutdownError",
}


def describe_db_error(exc: BaseException) -> dict[str, str]:
    """What a log may say of a database error: its kind and the constraint or table involved,
    never the statement's parameters nor the server's DETAIL (which quotes the values)."""
    orig = getattr(exc, "orig", None)
    driver = getattr(orig, "__cause__", None) or orig  # asyncpg's own error under the adapter's
    described = {"error": type(driver or exc).__name__}
    for attr in ("sqlstate", "constraint_name", "table_name", "column_name"):
        value = getattr(driver, attr, None)
        if value:
            described[attr] = str(value)
    return described
