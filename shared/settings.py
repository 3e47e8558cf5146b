"""Settings base: one environment prefix per service, shared fallbacks for the infrastructure."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

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
    "jwt_jwks_url",
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
    db_pool_size: int = 5
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
    data_dir: Path = default_data_dir()

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
