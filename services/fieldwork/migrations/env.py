"""Alembic environment of the fieldwork service."""

from services.fieldwork.models import metadata
from services.fieldwork.settings import FieldworkSettings
from shared.migrations import run_env

run_env(metadata, FieldworkSettings())
