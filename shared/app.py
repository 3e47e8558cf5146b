"""The app factory every service uses: database, NATS, outbox relay, consumers, errors,
health, metrics, logging and auth wired the same way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp

from shared.auth import TokenVerifier
from shared.consumer import BatchHandler, EventConsumer, EventHandler
from shared.db import (
    connection_lost,
    create_engine,
    create_session_factory,
    database_reachable,
    describe_db_error,
)
from shared.errors import install_error_handlers, problem_response, unexpected_error
from shared.messaging import MessageBus
from shared.observability import RequestContextMiddleware, configure_logging, metrics_endpoint
from shared.outbox import Outbox, OutboxRelay
from shared.request_limits import AuthenticateBeforeBodyMiddleware, TooLargeAsProblem
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


def _nats_state(runtime: ServiceRuntime) -> str:
    return "ok" if runtime.bus.is_connected else "unreachable"


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live")
    async def live(runtime: RuntimeDep) -> dict[str, Any]:
        """The process runs; NATS' state is told here (and in metrics), not in readiness."""
        return {"status": "live", "checks": {"nats": _nats_state(runtime)}}

    @router.get("/health/ready")
    async def ready(runtime: RuntimeDep) -> JSONResponse:
        """Whether this replica can serve requests: that needs its database, not NATS (the
        outbox keeps writes going while NATS is away; tying readiness to NATS would take every
        replica out of the load balancer at once)."""
        database = await database_reachable(runtime.engine)
        checks = {
            "database": "ok" if database else "unreachable",
            "nats": _nats_state(runtime),
        }
        return JSONResponse(
            {"status": "ready" if database else "not ready", "checks": checks},
            status_code=200 if database else 503,
        )

    router.add_api_route("/metrics", metrics_endpoint, methods=["GET"], response_class=Response)
    return router


class _ServiceApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        return TooLargeAsProblem(super().build_middleware_stack())


def create_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    tables: MessagingTables,
    routers: Sequence[APIRouter],
    producer: str | None = None,
    consumers: ConsumerFactory | None = None,
    anonymous_body_paths: Collection[str] = (),
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level, settings.log_format or "json")
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

    app = _ServiceApp(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    app.state.runtime = runtime
    verifier = TokenVerifier(settings)
    app.state.token_verifier = verifier
    install_error_handlers(app)
    _install_database_error_handlers(app)
    # Outermost last: the request id is set first, then the caller is checked before the body
    # is read (its size is bounded by FastAPI's `max_body_size`, inside).
    app.add_middleware(
        AuthenticateBeforeBodyMiddleware,
        authenticate=verifier.verify,
        anonymous_paths=anonymous_body_paths,
    )
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


_DATABASE_MODULES = ("asyncpg.", "sqlalchemy.pool", "sqlalchemy.engine", "sqlalchemy.dialects")


def _raised_by_database_driver(exc: BaseException) -> bool:
    """An OSError means a lost database only when it comes out of the driver or the pool (a
    file or another socket failing is a plain 500)."""
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(_DATABASE_MODULES):
            return True
        tb = tb.tb_next
    return False


def _install_database_error_handlers(app: FastAPI) -> None:
    async def on_integrity(request: Request, exc: Exception) -> JSONResponse:
        log.warning("integrity error", extra=describe_db_error(exc))
        return problem_response(
            request,
            status=409,
            slug="conflict",
            title="Conflict with the current state",
            detail="the change conflicts with existing data (duplicate or missing reference)",
        )

    async def on_data(request: Request, exc: Exception) -> JSONResponse:
        # Input that passed validation but does not fit a column (a bound missed in a schema).
        log.warning("data error", extra=describe_db_error(exc))
        return problem_response(
            request,
            status=422,
            slug="value-out-of-range",
            title="Invalid request",
            detail="a value is out of the range or format the service can store",
        )

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        # Lost, refused, or a server shutting down or starting up (crash recovery): 503.
        lost = _raised_by_database_driver(exc) if isinstance(exc, OSError) else connection_lost(exc)
        if not lost:
            if _is_pep249_data_error(exc):
                return await on_data(request, exc)
            return await unexpected_error(request, exc)
        log.error("database unreachable", extra=describe_db_error(exc))
        return problem_response(
            request,
            status=503,
            slug="database-unavailable",
            title="Service unavailable",
            detail="the database is unavailable; retry later",
            headers={"Retry-After": "5"},
        )

    async def on_pool_timeout(request: Request, exc: Exception) -> JSONResponse:
        # Every connection of the pool stayed busy for `db_pool_timeout_seconds`: overload,
        # not a fault of the request.
        log.error("database pool exhausted", extra={"error": type(exc).__name__})
        return problem_response(
            request,
            status=503,
            slug="database-busy",
            title="Service unavailable",
            detail="every database connection is busy; retry later",
            headers={"Retry-After": "1"},
        )

    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(PoolTimeout, on_pool_timeout)
    app.add_exception_handler(DataError, on_data)
    app.add_exception_handler(DBAPIError, on_database)
    app.add_exception_handler(OSError, on_database)
    # asyncpg's own errors, from a route reading through a bare asyncpg pool.
    app.add_exception_handler(asyncpg.PostgresError, on_database)
    app.add_exception_handler(asyncpg.InterfaceError, on_database)
