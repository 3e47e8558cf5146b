"""The registry service: editions, strata, structures and sites, offers and registrations;
territories as reference data."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.registry.consumers import consumers
from services.registry.editions.router import router as editions_router
from services.registry.models import idempotency, tables
from services.registry.offers.router import router as offers_router
from services.registry.registrations.router import router as registrations_router
from services.registry.settings import RegistrySettings
from services.registry.strata.router import router as strata_router
from services.registry.structures.router import router as structures_router
from services.registry.territories.router import router as territories_router
from services.registry.webhooks.router import router as webhooks_router
from services.registry.webhooks.worker import DeliveryWorker
from shared.app import create_service_app
from shared.idempotency import install_idempotency

# Pruned after `REGISTRY_IDEMPOTENCY_RETENTION_SECONDS` (shared.housekeeping).
IDEMPOTENCY_TABLES = [idempotency]


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    app = create_service_app(
        settings=settings,
        title="Baromètre — registry",
        description=(
            "Editions (presets 2017 and 2020, calendar, eligibility, quotas, offer catalogue, "
            "status machine), strata rules and derived strata, structures with their sites, "
            "contact points and certifications, registrations with their review and quotes; "
            "French territories as reference data; partner webhooks. POSTs honour "
            "`Idempotency-Key`."
        ),
        tables=tables,
        idempotency_tables=IDEMPOTENCY_TABLES,
        routers=[
            territories_router,
            editions_router,
            strata_router,
            offers_router,
            structures_router,
            registrations_router,
            webhooks_router,
        ],
        producer="registry",
        consumers=consumers,
    )
    install_idempotency(app, idempotency)
    # The webhook delivery worker runs beside the consumers (until the app factory takes
    # background tasks itself).
    worker = app.state.webhook_worker = DeliveryWorker(app.state.runtime.session_factory, settings)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            task = asyncio.create_task(worker.run(), name="webhook-worker")
            try:
                yield
            finally:
                worker.stop()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, 10)

    app.router.lifespan_context = lifespan
    return app
