"""The app factory every service uses: database, NATS, outbox relay, consumers, errors,
health, metrics, logging and auth wired the same way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.auth import TokenVerifier
from shared.consumer import BatchHandler, EventConsumer, EventHandler
from shared.db import create_engine, create_session_factory, database_reachable
from shared.errors import install_error_handlers, problem_response, unexpected_error
from shared.messaging import MessageBus
from shared.observability import RequestContextMiddleware, configure_logging, metrics_endpoint
from shared.outbox import Outbox, OutboxRelay
from shared.settings import ServiceSettings
from shared.tables import MessagingTables

log = logging.getLogger(__name__)


@dataclass
class ServiceRuntime:
    """What a running service holds; consumers and routes reach it through `app.state`."""

    settings: ServiceSettings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    bus: MessageBus
    tables: MessagingTables
    outbox: Outbox
    consumers: list[EventConsumer] = field(default_factory=list)

    def consumer(
        self,
        *,
        durable: str,
        producer: str,
        handlers: Mapping[str, EventHandler] | None = None,
        batch_handler: BatchHandler | None = None,
        subjects: Sequence[str] | None = None,
    ) -> EventConsumer:
        """A consumer of `producer`'s stream wired to this service's database and settings:
        per-event `handlers` by subject, or one `batch_handler` (all of `producer`'s subjects
        unless `subjects` narrows them)."""
        s = self.settings
        return EventConsumer(
            durable=durable,
            producer=producer,
            handlers=handlers,
            batch_handler=batch_handler,
            subjects=subjects,
            session_factory=self.session_factory,
            tables=self.tables,
            bus=self.bus,
            batch_size=s.consumer_batch_size,
            nak_delay=s.consumer_nak_delay_seconds,
            max_nak_delay=s.consumer_max_nak_delay_seconds,
            max_deliveries=s.consumer_max_deliveries,
            ack_wait=s.consumer_ack_wait_seconds,
        )

    def relay(self, producer: str) -> OutboxRelay:
        """The relay publishing this service's outbox to `producer`'s stream."""
        s = self.settings
        return OutboxRelay(
            self.outbox,
            self.session_factory,
            self.bus,
            producer=producer,
            batch_size=s.outbox_batch_size,
            poll_seconds=s.outbox_poll_seconds,
            publish_timeout=s.outbox_publish_timeout_seconds,
            max_attempts=s.outbox_max_attempts,
            retry_delay=s.outbox_retry_delay_seconds,
            max_retry_delay=s.outbox_max_retry_delay_seconds,
        )


ConsumerFactory = Callable[[ServiceRuntime], Sequence[EventConsumer]]


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed here (before the response is sent)."""
    # The relay is woken by the outbox's after-commit hook when the transaction wrote events.
    async with runtime_of(request).session_factory() as session, session.begin():
        yield session


# `scope="function"` makes FastAPI run the commit before it sends the response, so a failed
# commit is reported to the client instead of being lost after a 2xx.
SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
RuntimeDep = Annotated[ServiceRuntime, Depends(runtime_of)]


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "live"}

    @router.get("/health/ready")
    async def ready(runtime: RuntimeDep) -> JSONResponse:
        checks = {
            "database": "ok" if await database_reachable(runtime.engine) else "unreachable",
            "nats": "ok" if runtime.bus.is_connected else "unreachable",
        }
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": checks},
            status_code=200 if ok else 503,
        )

    router.add_api_route("/metrics", metrics_endpoint, methods=["GET"], response_class=Response)
    return router


def create_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    tables: MessagingTables,
    routers: Sequence[APIRouter],
    producer: str | None = None,
    consumers: ConsumerFactory | None = None,
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level)
    engine = create_engine(settings)
    bus = MessageBus(settings.nats_url, name=settings.service_name)
    runtime = ServiceRuntime(
        settings=settings,
        engine=engine,
        session_factory=create_session_factory(engine),
        bus=bus,
        tables=tables,
        outbox=Outbox(tables.outbox),
    )
    runtime.consumers = list(consumers(runtime)) if consumers else []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.nats_url:
            raise RuntimeError("no NATS configured: set NATS_URL (or use `barometer dev`)")
        tasks = [asyncio.create_task(bus.connect(), name="nats-connect")]
        loops: list[EventConsumer | OutboxRelay] = list(runtime.consumers)
        if producer is not None:
            loops.append(runtime.relay(producer))
        for loop in loops:
            name = f"consumer-{loop.durable}" if isinstance(loop, EventConsumer) else "outbox-relay"
            tasks.append(asyncio.create_task(loop.run(), name=name))
        log.info("service started", extra={"port": settings.port})
        try:
            yield
        finally:
            # Consumers finish their batch, the relay its round; whatever is still running
            # after the grace period is cancelled (an unacked batch is simply redelivered).
            for loop in loops:
                loop.stop()
            if loops:
                await asyncio.wait(tasks[1:], timeout=5)
            for task in tasks:
                task.cancel()
            _, stuck = await asyncio.wait(tasks, timeout=10)
            if stuck:
                log.error(
                    "background tasks did not stop", extra={"tasks": [t.get_name() for t in stuck]}
                )
            await bus.close()
            await engine.dispose()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.token_verifier = TokenVerifier(settings)
    install_error_handlers(app)
    _install_database_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    app.include_router(_health_router())
    for router in routers:
        app.include_router(router, prefix="/v1")
    return app


def _is_pep249_data_error(exc: Exception) -> bool:
    """The driver's DataError (PEP 249), e.g. an integer beyond the column's range."""
    seen: BaseException | None = getattr(exc, "orig", None)
    while seen is not None:  # the adapter's error wraps asyncpg's own DataError
        if any(k.__name__ == "DataError" for k in type(seen).__mro__):
            return True
        seen = seen.__cause__
    return False


def _install_database_error_handlers(app: FastAPI) -> None:
    async def on_integrity(request: Request, exc: Exception) -> JSONResponse:
        log.warning("integrity error", extra={"error": str(exc)[:500]})
        return problem_response(
            request,
            status=409,
            slug="conflict",
            title="Conflict with the current state",
            detail="the change conflicts with existing data (duplicate or missing reference)",
        )

    async def on_data(request: Request, exc: Exception) -> JSONResponse:
        # Input that passed validation but does not fit a column (a bound missed in a schema).
        log.warning("data error", extra={"error": str(exc)[:500]})
        return problem_response(
            request,
            status=422,
            slug="value-out-of-range",
            title="Invalid request",
            detail="a value is out of the range or format the service can store",
        )

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        lost = isinstance(exc, OSError) or (
            isinstance(exc, DBAPIError)
            and (exc.connection_invalidated or isinstance(exc.orig, OSError))
        )
        if not lost:
            if _is_pep249_data_error(exc):
                return await on_data(request, exc)
            return await unexpected_error(request, exc)
        log.error("database unreachable", extra={"error": str(exc)[:500]})
        return problem_response(
            request,
            status=503,
            slug="database-unavailable",
            title="Service unavailable",
            detail="the database is unavailable; retry later",
            headers={"Retry-After": "5"},
        )

    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(DataError, on_data)
    app.add_exception_handler(DBAPIError, on_database)
    app.add_exception_handler(OSError, on_database)
