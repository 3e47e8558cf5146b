"""Settings of the registry service (environment prefix `REGISTRY_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    service_name: str = "registry"
    port: int = 8001
    # The registry signs every token: in prod its private key(s) must be configured.
    prod_required: ClassVar[tuple[str, ...]] = ("jwt_private_key",)
    # Lifetime of the access tokens the OAuth token endpoint issues (at most the services'
    # JWT_MAX_LIFETIME_SECONDS).
    oauth_token_ttl_seconds: int = 900
