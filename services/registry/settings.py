"""Settings of the registry service (environment prefix `REGISTRY_`)."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    service_name: str = "registry"
    port: int = 8001
    # Partner webhooks: the delivery worker (see docs/webhooks.md).
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_concurrency: int = Field(default=8, ge=1, description="HTTP calls at once")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_base_seconds: float = Field(default=30.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    webhook_max_attempts: int = Field(default=15, ge=1, description="per delivery")
    webhook_pause_after: int = Field(default=20, ge=1, description="failures in a row")
    # The registry signs every token: in prod its private key(s) must be configured.
    prod_required: ClassVar[tuple[str, ...]] = ("jwt_private_key",)
    # Lifetime of the access tokens the OAuth token endpoint issues (at most the services'
    # JWT_MAX_LIFETIME_SECONDS).
    oauth_token_ttl_seconds: int = 900
