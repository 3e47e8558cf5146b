"""The registry service: territories, editions and their strata, structures, registrations."""

from fastapi import FastAPI

from services.registry.models import tables
from services.registry.router import router
from services.registry.settings import RegistrySettings
from services.registry.territories.router import router as territories_router
from shared.app import create_service_app


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or RegistrySettings(),
        title="Baromètre — registry",
        description=(
            "Editions and their strata, participating structures and their sites, "
            "registrations; French territories as reference data."
        ),
        tables=tables,
        routers=[territories_router, router],
        producer="registry",
    )
