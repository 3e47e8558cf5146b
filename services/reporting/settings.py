"""Settings of the reporting service (environment prefix `REPORTING_`)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore")

    service_name: str = "reporting"
    port: int = 8004
    chromium_path: str = "/usr/bin/chromium"  # prints personalised reports to PDF
