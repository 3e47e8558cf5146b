"""The reporting service: read models fed by events, and the structures' scorecards."""

from fastapi import FastAPI

from services.reporting.consumers import consumers
from services.reporting.models import tables
from services.reporting.router import router
from services.reporting.settings import ReportingSettings
from shared.app import create_service_app


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or ReportingSettings(),
        title="Baromètre — reporting",
        description="Confidential scorecards: a structure against its stratum and the sample.",
        tables=tables,
        routers=[router],
        producer=None,
        consumers=consumers,
    )
