"""Alembic environment of the reporting service."""

from services.reporting.models import metadata
from services.reporting.settings import ReportingSettings
from shared.migrations import run_env

run_env(metadata, ReportingSettings())
