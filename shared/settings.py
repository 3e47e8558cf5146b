"""Settings base: one environment prefix per service, shared fallbacks for the infrastructure."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    return Path(os.environ.get("BAROMETER_DATA_DIR", PROJECT_ROOT / ".data"))


# Infrastructure settings a service may take from an unprefixed variable when its own is unset,
# so one `DATABASE_URL` / `NATS_URL` configures the four services at once.
_SHARED_FALLBACKS = (
    "database_url",
    "nats_url",
    "environment",
    "jwt_public_key",
    "jwt_private_key",
    "jwt_jwks_url",
    "log_format",
    "nats_replicas",
    "stream_max_age_seconds",
    "stream_max_bytes",
    "shutdown_grace_seconds",
    "inbox_retention_seconds",
    "outbox_retention_seconds",
    "idempotency_retention_seconds",
    "tracing_exporter",
    "cors_allowed_origins",
    "cors_allow_credentials",
)

DAY = 24 * 3600.0

# Browsers' origins a development frontend runs on (any port of the loopback host).
DEV_ORIGIN_REGEX = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?$"
# Requests per second (and burst) per client when the environment is prod and nothing is set.
PROD_RATE_LIMIT = (50.0, 100)


class ServiceSettings(BaseSettings):
    """What every service needs; a service subclasses it with its own `env_prefix`."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "service"
    environment: Literal["dev", "test", "prod"] = "dev"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = ""
    database_schema: str = ""
    # Connections kept per process, extra ones opened under load (closed when returned), and
    # how long a request waits for one before a 503 (README, "Capacity settings").
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_pool_timeout_seconds: float = 10.0
    # uvicorn: pending connections the kernel queues, requests in progress beyond which new
    # ones get an immediate 503 (0: no limit), and how long an idle keep-alive connection is
    # kept: longer than clients' and load balancers' own idle timeouts, so the server never
    # closes a connection a client is sending a request on.
    http_backlog: int = 2048
    http_limit_concurrency: int = 0
    http_keep_alive_seconds: int = 75
    nats_url: str = ""
    log_level: str = "INFO"
    # `console`: one readable line per event (the default in dev and test); `json`: one JSON
    # object per line (the default in prod, for log collectors).
    log_format: Literal["json", "console"] | None = None
    # Request bodies beyond this many bytes get a 413 before being read (bulk routes may raise
    # their own cap).
    max_body_bytes: int = 1024 * 1024
    # Token keys (see shared/auth.py): PEM files or directories, comma-separated. The private
    # key(s) sign (the registry, the dev CLI), the first one found signing; public keys and the
    # JWKS URL verify. None of the three set: a development key pair under `.data/jwt/`.
    jwt_public_key: str = ""
    jwt_private_key: str = ""
    jwt_jwks_url: str = ""
    jwt_jwks_cache_seconds: float = 300.0
    jwt_jwks_refetch_seconds: float = 10.0  # at most one fetch per interval for unknown keys
    jwt_keys_reload_seconds: float = 1.0  # how often key files are checked for a change
    # A token valid longer than this (exp - iat) is refused, whoever signed it.
    jwt_max_lifetime_seconds: int = 12 * 3600
    jwt_issuer: str = "barometre"
    jwt_audience: str = "barometre-api"
    outbox_poll_seconds: float = 0.2
    outbox_batch_size: int = 500
    outbox_publish_timeout_seconds: float = 5.0
    outbox_max_attempts: int = 10
    outbox_retry_delay_seconds: float = 1.0
    outbox_max_retry_delay_seconds: float = 300.0
    consumer_batch_size: int = 200
    consumer_nak_delay_seconds: float = 2.0
    consumer_max_nak_delay_seconds: float = 60.0
    consumer_max_deliveries: int = 10
    consumer_ack_wait_seconds: float = 30.0
    # Messages delivered and not yet acked per durable (across its members): at least the
    # batch in hand and the one fetched ahead.
    consumer_max_ack_pending: int = 2000
    # JetStream (`barometer nats setup` declares them; each service checks them at start).
    nats_replicas: int = Field(1, ge=1, le=5)  # 3 in the production manifests
    stream_max_age_seconds: float = Field(14 * DAY, gt=0)
    stream_max_bytes: int = -1  # -1: bounded by age only
    # How long the start waits for NATS to check its streams and consumers; when NATS is away
    # longer, the service starts anyway (the outbox keeps writes going) and each consumer and
    # the relay check theirs once connected.
    nats_start_check_seconds: float = 10.0
    # SIGTERM: requests, the consumers' batches, the relay's round and background work finish
    # within this; what is still running then is cancelled (an unacked batch is redelivered).
    shutdown_grace_seconds: float = Field(15.0, gt=0)
    # Housekeeping: published outbox rows, inbox ids and idempotency keys older than these are
    # deleted, `prune_batch_size` rows per statement, every `prune_interval_seconds`.
    outbox_retention_seconds: float = Field(7 * DAY, gt=0)
    inbox_retention_seconds: float = Field(15 * DAY, gt=0)
    idempotency_retention_seconds: float = Field(1 * DAY, gt=0)
    prune_interval_seconds: float = Field(600.0, gt=0)
    prune_batch_size: int = Field(5000, ge=1)
    # Messaging gauges (outbox backlog, consumer lag, dead letters) sampled this often.
    metrics_interval_seconds: float = Field(10.0, gt=0)
    # OpenTelemetry: `none` (the default) keeps only the API's context propagation; `console`
    # prints spans; `otlp` exports them (needs opentelemetry-sdk and the OTLP exporter).
    tracing_exporter: Literal["none", "console", "otlp"] = "none"
    data_dir: Path = default_data_dir()
    # Per-client rate limit (token bucket per token subject, or per IP when anonymous): `None`
    # means 50/s with a burst of 100 in prod and off elsewhere; 0 turns it off.
    rate_limit_per_second: float | None = None
    rate_limit_burst: int | None = None
    # Browser origins allowed to call the API (CORS), comma-separated or a JSON list; none by
    # default, except any localhost origin in dev. `*` is refused with credentials.
    cors_allowed_origins: Annotated[list[str], NoDecode] = []
    cors_allow_credentials: bool = False

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _origins_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    # Settings a service cannot run without in prod, beyond the database, NATS and a token key.
    prod_required: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _fallback_to_unprefixed(cls, values: Any) -> Any:
        if isinstance(values, dict):
            for name in _SHARED_FALLBACKS:
                if not values.get(name) and os.environ.get(name.upper()):
                    values[name] = os.environ[name.upper()]
        return values

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_prod(self) -> ServiceSettings:
        if not self.database_schema:
            self.database_schema = self.service_name
        if self.log_format is None:
            self.log_format = "json" if self.environment == "prod" else "console"
        if self.consumer_max_ack_pending < 2 * self.consumer_batch_size:
            raise ValueError(
                f"consumer_max_ack_pending ({self.consumer_max_ack_pending}) must be at least "
                f"twice consumer_batch_size ({self.consumer_batch_size}): a batch in hand and "
                "one fetched ahead"
            )
        horizon = self.redelivery_horizon_seconds
        if self.inbox_retention_seconds <= horizon:
            raise ValueError(
                f"inbox_retention_seconds ({self.inbox_retention_seconds:g}) must exceed "
                f"JetStream's redelivery horizon ({horizon:g} s: stream_max_age_seconds "
                f"{self.stream_max_age_seconds:g} + duplicate window "
                f"{self.duplicate_window_seconds:g}): an event id pruned sooner could be "
                "applied twice"
            )
        if self.duplicate_window_seconds > self.stream_max_age_seconds:
            raise ValueError(
                f"the duplicate window ({self.duplicate_window_seconds:g} s, the outbox's retry "
                f"horizon) cannot exceed stream_max_age_seconds ({self.stream_max_age_seconds:g})"
            )
        if self.rate_limit_per_second is None:
            self.rate_limit_per_second = PROD_RATE_LIMIT[0] if self.environment == "prod" else 0.0
        if self.rate_limit_burst is None:
            self.rate_limit_burst = (
                PROD_RATE_LIMIT[1]
                if self.environment == "prod"
                else max(1, math.ceil(2 * self.rate_limit_per_second))
            )
        if self.rate_limit_per_second < 0 or self.rate_limit_burst < 1:
            raise ValueError("rate_limit_per_second must be >= 0 and rate_limit_burst >= 1")
        if "*" in self.cors_allowed_origins and self.cors_allow_credentials:
            raise ValueError(
                "cors_allowed_origins '*' with cors_allow_credentials: a browser would send "
                "any site's credentials; list the origins instead"
            )
        return self

    def require_serving_settings(self) -> None:
        """A service refuses to serve in prod without explicit database, NATS and key settings
        (one-shot commands need less: `barometer migrate` the database, `nats setup` NATS)."""
        if self.environment == "prod":
            missing = [
                name
                for name in ("database_url", "nats_url", *self.prod_required)
                if not getattr(self, name)
            ]
            if not (self.jwt_public_key or self.jwt_jwks_url or self.jwt_private_key):
                missing.append("jwt_jwks_url or jwt_public_key")
            if missing:
                raise ValueError(f"in prod these settings must be set explicitly: {missing}")

    @property
    def duplicate_window_seconds(self) -> float:
        """The outbox's retry horizon, JetStream's duplicate window (see shared/topology.py)."""
        return self.outbox_max_attempts * (
            self.outbox_max_retry_delay_seconds + self.outbox_publish_timeout_seconds
        )

    @property
    def redelivery_horizon_seconds(self) -> float:
        """How long after its first delivery a copy of an event can still arrive: a stream
        keeps a message (redelivered while unacked) at most `stream_max_age_seconds`, and a
        copy republished by the outbox arrives within the duplicate window after the first."""
        return self.stream_max_age_seconds + self.duplicate_window_seconds

    @property
    def cors_origin_regex(self) -> str | None:
        """Any localhost origin in dev when no origin is configured."""
        if self.environment == "dev" and not self.cors_allowed_origins:
            return DEV_ORIGIN_REGEX
        return None

    @property
    def async_database_url(self) -> str:
        return to_asyncpg_url(self.database_url)


def to_asyncpg_url(url: str) -> str:
    """Accept the usual `postgresql://` spelling and point SQLAlchemy at asyncpg."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")
