"""The registry service: editions, strata, structures and sites, offers and registrations;
territories as reference data."""

from fastapi import FastAPI

from services.registry.clients.router import TOKEN_PATH, install_keys
from services.registry.clients.router import router as clients_router
from services.registry.consumers import consumers
from services.registry.editions.router import router as editions_router
from services.registry.models import access_log, idempotency, tables
from services.registry.offers.router import router as offers_router
from services.registry.registrations.router import router as registrations_router
from services.registry.settings import RegistrySettings
from services.registry.strata.router import router as strata_router
from services.registry.structures.router import router as structures_router
from services.registry.territories.router import router as territories_router
from services.registry.webhooks.router import router as webhooks_router
from services.registry.webhooks.worker import DeliveryWorker
from shared.access_log import access_log_router
from shared.app import ServiceRuntime, create_service_app
from shared.idempotency import install_idempotency

# Pruned after `REGISTRY_IDEMPOTENCY_RETENTION_SECONDS` (shared.housekeeping).
IDEMPOTENCY_TABLES = [idempotency]


async def deliver_webhooks(runtime: ServiceRuntime) -> None:
    """The webhook delivery worker, beside the consumers: cancelled at shutdown, a delivery
    whose call was in flight is sent again when its lease ends (receivers dedupe on its id)."""
    settings = runtime.settings
    assert isinstance(settings, RegistrySettings)
    await DeliveryWorker(runtime.session_factory, settings).run()


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    app = create_service_app(
        settings=settings,
        title="Baromètre — registry",
        description=(
            "Editions (presets 2017 and 2020, calendar, eligibility, quotas, offer catalogue, "
            "status machine), strata rules and derived strata, structures with their sites, "
            "contact points and certifications, registrations with their review and quotes; "
            "French territories as reference data; OAuth2 clients, the token endpoint, the "
            "JWKS and partners' opt-ins; partner webhooks; the access log. POSTs honour "
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
            clients_router,
            access_log_router(access_log, "registry"),
        ],
        producer="registry",
        consumers=consumers,
        background=[deliver_webhooks],
        anonymous_body_paths=["/v1" + TOKEN_PATH],
    )
    install_keys(app, settings)
    install_idempotency(app, idempotency)
    return app
