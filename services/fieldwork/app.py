"""The fieldwork service: audit grids, audit plans, auditors and the life of audit tasks."""

from typing import cast

from fastapi import FastAPI
from sqlalchemy import Table

from services.fieldwork.consumers import consumers
from services.fieldwork.models import IdempotentRequest, tables
from services.fieldwork.router import routers
from services.fieldwork.settings import FieldworkSettings
from shared.app import create_service_app

# Pruned after `FIELDWORK_IDEMPOTENCY_RETENTION_SECONDS` (shared.housekeeping).
IDEMPOTENCY_TABLES = [cast(Table, IdempotentRequest.__table__)]


def create_app(settings: FieldworkSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or FieldworkSettings(),
        title="Baromètre — fieldwork",
        description=(
            "Plans dated audits of each registered site with its scenarios, assigns them to "
            "mystery auditors, collects answers and evidence on versioned grids, handles "
            "appeals, announces validated audits, and takes in partners' citizen voice."
        ),
        tables=tables,
        idempotency_tables=IDEMPOTENCY_TABLES,
        routers=routers,
        producer="fieldwork",
        consumers=consumers,
    )
