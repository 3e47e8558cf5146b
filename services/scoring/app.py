"""The scoring service: consumes grids, validated audits and citizen voice, keeps every score
and aggregate of each edition exact and incremental, re-scores on demand."""

from __future__ import annotations

from fastapi import FastAPI

from services.scoring import maintenance
from services.scoring.aggregates.router import router as aggregates_router
from services.scoring.consumers import consumers
from services.scoring.deadletters.router import router as deadletters_router
from services.scoring.editions.router import router as editions_router
from services.scoring.grids.router import router as grids_router
from services.scoring.models import access_log, tables
from services.scoring.rescore.router import router as rescore_router
from services.scoring.settings import ScoringSettings
from services.scoring.voice.router import router as voice_router
from shared.access_log import access_log_router
from shared.app import BackgroundWork, ServiceRuntime, create_service_app


def maintenance_of(settings: ScoringSettings) -> BackgroundWork:
    async def scoring_maintenance(runtime: ServiceRuntime) -> None:
        await maintenance.run(runtime, settings)

    return scoring_maintenance


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    settings = settings or ScoringSettings()
    app = create_service_app(
        settings=settings,
        title="Baromètre — scoring",
        description="Exact scores of every validated audit and their aggregates at every level.",
        tables=tables,
        routers=[
            aggregates_router, editions_router, rescore_router, voice_router, grids_router,
            deadletters_router, access_log_router(access_log, "scoring"),
        ],
        producer="scoring",
        consumers=consumers,
        background=[maintenance_of(settings)],
    )  # fmt: skip
    return app
