"""The scoring service: a durable consumer of validated audits that computes their scores."""

from fastapi import FastAPI

from services.scoring.consumers import consumers
from services.scoring.models import tables
from services.scoring.router import router
from services.scoring.settings import ScoringSettings
from shared.app import create_service_app


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or ScoringSettings(),
        title="Baromètre — scoring",
        description="Scores every validated audit out of 100 from its grid and answers.",
        tables=tables,
        routers=[router],
        producer="scoring",
        consumers=consumers,
    )
