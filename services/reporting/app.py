"""The reporting service: read models fed by events; scorecards, the national barometer,
laureates, personalised reports and exports."""

from fastapi import FastAPI, Request

from services.reporting.barometer.router import router as barometer
from services.reporting.consumers import consumers
from services.reporting.exports.router import router as exports
from services.reporting.laureates.router import router as laureates
from services.reporting.models import access_log, tables
from services.reporting.readmodel.reader import Reader
from services.reporting.readmodel.refresher import refresh_loop
from services.reporting.readmodel.router import router as editions
from services.reporting.reports.router import router as reports
from services.reporting.scorecards.router import router as scorecards
from services.reporting.settings import ReportingSettings
from shared.access_log import access_log_router
from shared.app import ServiceRuntime, create_service_app


async def refresher(runtime: ServiceRuntime) -> None:
    await refresh_loop(runtime.session_factory)


async def _flush_access_log(request: Request) -> None:
    """Reads queue their access-log rows: the operator sees every one of them."""
    reader: Reader = request.app.state.reader
    await reader.flush()


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    reader = Reader(settings)
    app = create_service_app(
        settings=settings,
        title="Baromètre — reporting",
        description="Confidential scorecards and reports, the national barometer, laureates, "
        "exports.",
        tables=tables,
        routers=[
            scorecards,
            reports,
            barometer,
            laureates,
            exports,
            editions,
            access_log_router(access_log, "reporting", before=_flush_access_log),
        ],
        producer=None,
        consumers=consumers,
        background=[refresher],
        shutdown=[reader.close],
    )
    app.state.reader = reader
    return app
