"""Settings of the fieldwork service (environment prefix `FIELDWORK_`)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class FieldworkSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDWORK_", extra="ignore")

    service_name: str = "fieldwork"
    port: int = 8002
