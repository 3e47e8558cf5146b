"""The fieldwork service: audit grids, audit plans, auditors and the life of audit tasks."""

from fastapi import FastAPI

from services.fieldwork.consumers import consumers
from services.fieldwork.models import tables
from services.fieldwork.router import router
from services.fieldwork.settings import FieldworkSettings
from shared.app import create_service_app


def create_app(settings: FieldworkSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or FieldworkSettings(),
        title="Baromètre — fieldwork",
        description=(
            "Plans the audits of each registered site, assigns them to mystery auditors, "
            "collects their answers on versioned grids and announces validated audits."
        ),
        tables=tables,
        routers=[router],
        producer="fieldwork",
        consumers=consumers,
    )
