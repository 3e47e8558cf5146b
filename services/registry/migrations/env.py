"""Alembic environment of the registry service."""

from services.registry.models import metadata
from services.registry.settings import RegistrySettings
from shared.migrations import run_env

run_env(metadata, RegistrySettings())
