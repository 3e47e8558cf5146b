"""Settings base: one environment prefix per service, shared fallbacks for the infrastructure."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    "log_format",
)


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
    # Paths of PEM files: the public key verifies tokens, the private key (dev CLI only) signs them.
    jwt_public_key: str = ""
    jwt_private_key: str = ""
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
    data_dir: Path = default_data_dir()

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
        if self.environment == "prod":
            missing = [
                name
                for name in ("database_url", "nats_url", "jwt_public_key")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"in prod these settings must be set explicitly: {missing}")
        return self

    @property
    def async_database_url(self) -> str:
        return to_asyncpg_url(self.database_url)


def to_asyncpg_url(url: str) -> str:
    """Accept the usual `postgresql://` spelling and point SQLAlchemy at asyncpg."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")
