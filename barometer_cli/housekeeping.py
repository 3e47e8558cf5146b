"""`barometer prune`: one housekeeping pass for a service, as its periodic task does."""

from __future__ import annotations

import importlib
from typing import cast

from sqlalchemy import Table

from barometer_cli.catalog import ServiceSpec
from shared.db import create_engine, create_session_factory
from shared.housekeeping import prune, targets
from shared.tables import MessagingTables


def idempotency_tables(spec: ServiceSpec) -> list[Table]:
    """The service's idempotency keys, as its app hands them to housekeeping."""
    app = importlib.import_module(f"{spec.module}.app")
    return list(cast(list[Table], getattr(app, "IDEMPOTENCY_TABLES", [])))


async def prune_service(spec: ServiceSpec, database_url: str) -> dict[str, int]:
    settings = spec.settings(database_url=spec.settings().database_url or database_url)
    tables = cast(MessagingTables, importlib.import_module(f"{spec.module}.models").tables)
    engine = create_engine(settings)
    try:
        found = targets(settings, tables, idempotency_tables(spec))
        return await prune(create_session_factory(engine), found, settings.prune_batch_size)
    finally:
        await engine.dispose()
