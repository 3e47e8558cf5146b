"""JSON logs carrying the request id (and, in consumers, the event id and trace id), Prometheus
metrics for every HTTP route, and W3C trace context (OpenTelemetry API) carried from HTTP
requests into the events they write and back out in the consumers that apply them.

Tracing uses the OpenTelemetry API only unless `tracing_exporter` asks for spans to be
exported (`console` or `otlp`, which need the optional `tracing` extra: opentelemetry-sdk and
the OTLP exporter); without it no span is recorded, but the context still propagates: an
incoming `traceparent` reaches the events' envelopes and the consumers' logs unchanged."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from fastapi import Response
from opentelemetry import propagate, trace
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# The event a consumer is applying (per-event handlers), for its logs.
event_id_var: ContextVar[str | None] = ContextVar("event_id", default=None)

tracer = trace.get_tracer("barometre")


def trace_headers() -> dict[str, str]:
    """The current W3C trace context (`traceparent`, `tracestate`), empty outside any trace."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def current_traceparent() -> str | None:
    return trace_headers().get("traceparent")


@contextmanager
def event_context(
    event_id: str, trace_context: Mapping[str, str] | None, name: str
) -> Iterator[None]:
    """While a consumer applies one event: its trace continued (a CONSUMER span, child of the
    span that wrote it) and its id in the logs."""
    parent = propagate.extract(dict(trace_context or {}))
    token = event_id_var.set(event_id)
    try:
        with tracer.start_as_current_span(name, context=parent, kind=trace.SpanKind.CONSUMER):
            yield
    finally:
        event_id_var.reset(token)


def configure_tracing(exporter: str, service: str) -> None:
    """Export spans when asked (`console`, `otlp`); `none` keeps the API's propagation only."""
    if exporter == "none":
        return
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SpanExporter,
        )
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise RuntimeError(
            f"tracing_exporter={exporter} needs the optional tracing packages: "
            "pip install 'barometre[tracing]'"
        ) from exc
    span_exporter: SpanExporter
    if exporter == "console":
        span_exporter = ConsoleSpanExporter()
    else:  # otlp: OTEL_EXPORTER_OTLP_ENDPOINT and friends configure it
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)


REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request duration", ["service", "method", "route"]
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class _RequestIdFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        event_id = event_id_var.get()
        if event_id and not getattr(record, "event_id", None):
            record.event_id = event_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid and not getattr(record, "trace_id", None):
            record.trace_id = trace.format_trace_id(span.trace_id)
        record.service = self.service
        # Whatever a message or a field quotes of a database error's data goes.
        message = record.getMessage()
        if _UNSAFE.search(message):
            record.msg, record.args = scrub(message), None
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and isinstance(value, str) and _UNSAFE.search(value):
                setattr(record, key, scrub(value))
        return True


# Attributes every LogRecord has; whatever else a record carries came as `extra` fields.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "service",
    "request_id",
    "color_message",
    "taskName",
}


# A server's DETAIL/HINT up to the end of its line (also inside a repr, where it ends at "\\n"),
# and SQLAlchemy's parameter list.
_UNSAFE = re.compile(r"(?:DETAIL|HINT):.*?(?=\\n|\n|$)|\[parameters: .*?\]", re.MULTILINE)


def scrub(text: str) -> str:
    """Drop what a database error may quote of the data: its DETAIL and its parameters."""
    return _UNSAFE.sub("[redacted]", text)


class _ScrubbedJsonFormatter(JsonFormatter):
    def formatException(self, ei: Any) -> str:
        formatted = super().formatException(ei)
        return scrub(formatted if isinstance(formatted, str) else "\n".join(formatted))


class ConsoleFormatter(logging.Formatter):
    """One readable line per event: time, level, service, message, then key=value fields."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}
        request_id = getattr(record, "request_id", None)
        if request_id:
            fields["request_id"] = request_id
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        line = (
            f"{stamp}.{int(record.msecs):03d} {record.levelname:<7} "
            f"{getattr(record, 'service', '-'):<9} {record.getMessage()}"
        )
        if tail:
            line += f"  {tail}"
        if record.exc_info:
            line += "\n" + scrub(str(self.formatException(record.exc_info)))
        return line


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "console":
        handler.setFormatter(ConsoleFormatter())
    else:
        handler.setFormatter(
            _ScrubbedJsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    handler.addFilter(_RequestIdFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def route_template(scope: Mapping[str, Any]) -> str:
    """The matched route's path template with its router's prefix (`/v1/editions/{id}`)."""
    route = scope.get("route")
    if route is None:
        return "unmatched"
    included = (scope.get("fastapi") or {}).get("included_router")
    prefix = getattr(getattr(included, "include_context", None), "prefix", "") or ""
    return f"{prefix}{getattr(route, 'path', '')}"


class RequestContextMiddleware:
    """Gives each request an id (taken from `X-Request-ID` when sane), logs and measures it.

    Plain ASGI (not `BaseHTTPMiddleware`, which runs the app in a task group and wraps every
    response): it only watches the response start go by."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self.log = logging.getLogger(f"{service}.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        token = request_id_var.set(request_id)
        # The caller's `traceparent` (if any) is the parent: the events this request writes
        # carry it on (see `trace_headers`).
        parent = propagate.extract(_header_carrier(scope))
        started = time.perf_counter()
        try:
            with tracer.start_as_current_span(
                f"{scope['method']} {scope['path']}", context=parent, kind=trace.SpanKind.SERVER
            ):
                await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
        elapsed = time.perf_counter() - started
        method = scope["method"]
        template = route_template(scope)
        REQUESTS.labels(self.service, method, template, str(status)).inc()
        LATENCY.labels(self.service, method, template).observe(elapsed)
        if template not in ("/metrics", "/health/live", "/health/ready"):
            self.log.info(
                "%s %s %s",
                method,
                template,
                status,
                extra={
                    "request_id": request_id,
                    "method": method,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )


def _header_carrier(scope: Scope) -> dict[str, str]:
    headers = Headers(scope=scope)
    return {k: headers[k] for k in ("traceparent", "tracestate") if k in headers}


async def metrics_endpoint() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
