"""The app factory every service uses: database, NATS, outbox relay, consumers, errors,
health, metrics, logging and auth wired the same way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import Table
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp

from shared import housekeeping
from shared.auth import TokenVerifier
from shared.consumer import BatchHandler, EventConsumer, EventHandler
from shared.db import (
    connection_lost,
    create_engine,
    create_session_factory,
    database_reachable,
    describe_db_error,
)
from shared.errors import (
    ProblemError,
    document_problems,
    install_error_handlers,
    problem_response,
    unexpected_error,
)
from shared.messaging import MessageBus
from shared.messaging_metrics import sample_loop
from shared.observability import (
    RequestContextMiddleware,
    configure_logging,
    configure_tracing,
    metrics_endpoint,
)
from shared.outbox import Outbox, OutboxRelay
from shared.rate_limit import RateLimitMiddleware
from shared.request_limits import AuthenticateBeforeBodyMiddleware, TooLargeAsProblem
from shared.schemas import non_finite_path
from shared.settings import ServiceSettings
from shared.tables import MessagingTables
from shared.topology import (
    TopologyMismatch,
    check_stream,
    durable_config,
    durable_spec,
    stream_config,
    stream_of,
)

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
    # Set when the streams and consumers, checked once NATS came back after a start without
    # it, differ from shared/topology.py: /health/live then fails, and the restart refuses.
    topology_error: str | None = None
    # What housekeeping prunes (published outbox rows, inbox ids, idempotency keys).
    prunable: list[housekeeping.Target] = field(default_factory=list)

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
        unless `subjects` narrows them). The durable must be declared in shared/topology.py
        with the same producer and subjects."""
        s = self.settings
        spec = durable_spec(durable)
        consumer = EventConsumer(
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
            config=durable_config(spec, s),
        )
        if (spec.service, spec.producer, sorted(spec.subjects)) != (
            s.service_name,
            producer,
            sorted(consumer.subjects),
        ):
            raise TopologyMismatch(
                f"consumer {durable} of {s.service_name} reads {producer} "
                f"{sorted(consumer.subjects)}, shared/topology.py declares {spec}"
            )
        return consumer

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
# A long-running coroutine of the service (a loop of transactional steps; cancelling it
# between or inside a step loses nothing).
BackgroundWork = Callable[[ServiceRuntime], Coroutine[Any, Any, None]]


async def check_topology(runtime: ServiceRuntime, producer: str | None) -> None:
    """Raise `TopologyMismatch` naming the stream or durable and the setting that differs from
    shared/topology.py, or an inbox retention too short for a stream the service reads."""
    js = runtime.bus.js
    s = runtime.settings
    spec = stream_of(producer) if producer is not None else None
    if spec is not None:
        await check_stream(js, stream_config(spec, s))
    for consumer in runtime.consumers:
        await consumer.check(js)
        stream = (await js.stream_info(consumer.stream)).config
        horizon = float(stream.max_age or 0) + float(stream.duplicate_window or 0)
        if not stream.max_age or s.inbox_retention_seconds <= horizon:
            raise TopologyMismatch(
                f"{s.service_name}'s inbox_retention_seconds ({s.inbox_retention_seconds:g}) "
                f"must exceed stream {consumer.stream}'s max_age + duplicate_window "
                f"({horizon:g} s; a max_age of 0 keeps events forever): an event id pruned "
                "sooner could be applied twice"
            )


class _Lifecycle:
    """Start-up (NATS, topology check, loops) and graceful shutdown of a service process."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        producer: str | None,
        background: Sequence[BackgroundWork],
        closers: Sequence[Callable[[], Awaitable[None]]],
    ) -> None:
        self.runtime = runtime
        self.producer = producer
        self.background = background
        self.closers = closers
        self.relay = runtime.relay(producer) if producer is not None else None
        self.connect: asyncio.Task[None] | None = None
        self.deferred: asyncio.Task[None] | None = None
        self.consumer_tasks: list[asyncio.Task[None]] = []
        self.background_tasks: list[asyncio.Task[None]] = []
        self.relay_task: asyncio.Task[None] | None = None
        self.housekeeping: asyncio.Task[None] | None = None
        self.sampler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        settings, bus = self.runtime.settings, self.runtime.bus
        if not settings.nats_url:
            raise RuntimeError("no NATS configured: set NATS_URL (or use `barometer dev`)")
        self.connect = asyncio.create_task(bus.connect(), name="nats-connect")
        self.housekeeping = asyncio.create_task(
            housekeeping.prune_loop(
                self.runtime.session_factory,
                self.runtime.prunable,
                interval=settings.prune_interval_seconds,
                batch_size=settings.prune_batch_size,
            ),
            name="housekeeping",
        )
        self.sampler = asyncio.create_task(
            sample_loop(
                settings.service_name,
                self.runtime.session_factory,
                self.runtime.tables,
                self.runtime.consumers,
                bus,
                interval=settings.metrics_interval_seconds,
            ),
            name="metrics",
        )
        try:
            await asyncio.wait_for(bus.wait_connected(), settings.nats_start_check_seconds)
        except TimeoutError:
            log.warning(
                "NATS not reachable at start: serving requests (the outbox keeps the events); "
                "streams and consumers are checked, and consumers started, once it answers"
            )
            self.deferred = asyncio.create_task(self._check_later(), name="topology-check")
            return
        try:
            await check_topology(self.runtime, self.producer)
        except TopologyMismatch as exc:
            log.error("refusing to start: %s", exc)
            await self.close()
            raise
        self._start_loops()

    async def _check_later(self) -> None:
        await self.runtime.bus.wait_connected()
        while True:
            try:
                await check_topology(self.runtime, self.producer)
                break
            except TopologyMismatch as exc:
                self.runtime.topology_error = str(exc)
                log.error("streams or consumers differ; not consuming: %s", exc)
                return
            except Exception as exc:  # NATS went away again: try later
                log.warning("topology check failed; will retry", extra={"error": repr(exc)})
                await asyncio.sleep(2)
        log.info("streams and consumers checked")
        self._start_loops()

    def _start_loops(self) -> None:
        for consumer in self.runtime.consumers:
            self.consumer_tasks.append(
                asyncio.create_task(consumer.run(), name=f"consumer-{consumer.durable}")
            )
        for work in self.background:
            self.background_tasks.append(
                asyncio.create_task(work(self.runtime), name=getattr(work, "__name__", "work"))
            )
        if self.relay is not None:
            self.relay_task = asyncio.create_task(self.relay.run(), name="outbox-relay")

    async def stop(self) -> None:
        """After uvicorn has finished the requests in flight: the consumers finish their batch
        (applied, committed, then acked; or nak'ed), background work is cancelled (its steps
        are transactions), the relay publishes what they all wrote in one last round, then
        NATS and the database are closed. Each stage is bounded by `shutdown_grace_seconds`
        in all; a consumer still busy then is cancelled (its batch rolls back, unacked, and is
        redelivered)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.runtime.settings.shutdown_grace_seconds
        if self.deferred is not None:
            self.deferred.cancel()
        for consumer in self.runtime.consumers:
            consumer.stop()
        await _finish(self.consumer_tasks, deadline - loop.time())
        await _finish(self.background_tasks, 0)
        if self.relay is not None and self.relay_task is not None:
            self.relay.stop()  # it ends after its round in hand
            await _finish([self.relay_task], max(deadline - loop.time(), 1.0))
            # What the last batches and requests wrote, in as many rounds as the time allows.
            with contextlib.suppress(Exception):
                while self.runtime.bus.is_connected and loop.time() < deadline:
                    sent = await asyncio.wait_for(self.relay.relay_once(), deadline - loop.time())
                    if sent < self.relay.batch_size:
                        break
        await self.close()
        log.info("service stopped")

    async def close(self) -> None:
        for task in (self.connect, self.housekeeping, self.sampler):
            if task is not None:
                await _finish([task], 0)
        for closer in self.closers:
            with contextlib.suppress(Exception):
                await closer()
        await self.runtime.bus.close()
        await self.runtime.engine.dispose()


async def _finish(tasks: Sequence[asyncio.Task[None]], seconds: float) -> None:
    """Let `tasks` end by themselves for `seconds`, then cancel what still runs."""
    if not tasks:
        return
    late: Collection[asyncio.Task[None]] = tasks
    if seconds > 0:
        _, late = await asyncio.wait(tasks, timeout=seconds)
    for task in late:
        task.cancel()
    _, stuck = await asyncio.wait(tasks, timeout=10)
    if stuck:
        log.error("tasks did not stop", extra={"tasks": [t.get_name() for t in stuck]})
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error(
                "task failed", extra={"task": task.get_name(), "error": repr(task.exception())}
            )


def _lifespan(
    runtime: ServiceRuntime,
    producer: str | None,
    background: Sequence[BackgroundWork],
    closers: Sequence[Callable[[], Awaitable[None]]],
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        lifecycle = _Lifecycle(runtime, producer, background, closers)
        await lifecycle.start()
        log.info("service started", extra={"port": runtime.settings.port})
        try:
            yield
        finally:
            await lifecycle.stop()

    return lifespan


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
    async def live(runtime: RuntimeDep) -> JSONResponse:
        """The process runs; NATS' state is told here (and in metrics), not in readiness. A
        topology found wrong after a start without NATS fails it, so the orchestrator restarts
        the process, whose start check then refuses to run."""
        checks: dict[str, Any] = {"nats": _nats_state(runtime)}
        if runtime.topology_error is not None:
            checks["topology"] = runtime.topology_error
            return JSONResponse({"status": "topology mismatch", "checks": checks}, 503)
        return JSONResponse({"status": "live", "checks": checks})

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


class _NotJson(ProblemError):
    status, slug, title = 400, "malformed-json", "Malformed JSON"


_JSON_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _refuse_non_finite_json(request: Request) -> None:
    """Python's JSON parser takes NaN, Infinity and -Infinity (and 1e999 as infinity); JSON has
    none of them. Runs after FastAPI parsed the body (cached), before it is validated."""
    if request.method not in _JSON_BODY_METHODS:
        return
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (media == "application/json" or media.endswith("+json")) or not await request.body():
        return
    try:
        document = await request.json()
    except (ValueError, RecursionError):
        return  # not JSON (or nested beyond the parser): the route's own parsing reports it
    where = non_finite_path(document)
    if where is not None:
        raise _NotJson(f"{where}: NaN and infinities are not JSON numbers", field=where)


HEALTH_PATHS = ("/health/live", "/health/ready", "/metrics")
# What a browser on an allowed origin may send and read (CORS).
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"]
CORS_EXPOSED = ["X-Request-ID", "Retry-After", "Idempotent-Replayed", "Location"]


def create_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    tables: MessagingTables,
    routers: Sequence[APIRouter],
    producer: str | None = None,
    consumers: ConsumerFactory | None = None,
    background: Sequence[BackgroundWork] | None = None,
    shutdown: Sequence[Callable[[], Awaitable[None]]] | None = None,
    idempotency_tables: Sequence[Table] = (),
    anonymous_body_paths: Collection[str] = (),
) -> FastAPI:
    """The service's app. `background`: work that runs beside the consumers for the process's
    life (each started once the topology is checked, cancelled at shutdown after the
    consumers have finished their batch, before the relay's last round); `shutdown`: what to
    close after everything stopped; `idempotency_tables`: the service's idempotency keys,
    pruned with its inbox and published outbox rows (`shared.housekeeping`)."""
    settings.require_serving_settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_format or "json")
    configure_tracing(settings.tracing_exporter, settings.service_name)
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
    runtime.prunable = housekeeping.targets(settings, tables, idempotency_tables)

    lifespan = _lifespan(runtime, producer, background or (), shutdown or ())

    app = _ServiceApp(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
        dependencies=[Depends(_refuse_non_finite_json)],
    )
    app.state.runtime = runtime
    verifier = TokenVerifier(settings)
    app.state.token_verifier = verifier
    install_error_handlers(app)
    _install_database_error_handlers(app)
    # Outermost last: the request id is set first, CORS answers preflights (and labels every
    # answer, refusals included), the client's rate is checked, then the caller is checked
    # before the body is read (its size is bounded by FastAPI's `max_body_size`, inside).
    app.add_middleware(
        AuthenticateBeforeBodyMiddleware,
        authenticate=verifier.verify,
        anonymous_paths=anonymous_body_paths,
    )
    if settings.rate_limit_per_second:
        app.add_middleware(
            RateLimitMiddleware,
            rate=settings.rate_limit_per_second,
            burst=settings.rate_limit_burst or 1,
            identify=verifier.verify,
            exempt_paths=HEALTH_PATHS,
        )
    if settings.cors_allowed_origins or settings.cors_origin_regex:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allowed_origins,
            allow_origin_regex=settings.cors_origin_regex,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED,
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    app.include_router(_health_router())
    for router in routers:
        app.include_router(router, prefix="/v1")
    _document_problems(app, anonymous_body_paths)
    return app


def _document_problems(app: FastAPI, anonymous_body_paths: Collection[str]) -> None:
    """The OpenAPI document lists every error each route can answer, as problem+json."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document_problems(
                document, anonymous_body_paths=anonymous_body_paths, unlimited_paths=HEALTH_PATHS
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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
