"""Alembic environment of the scoring service."""

from services.scoring.models import metadata
from services.scoring.settings import ScoringSettings
from shared.migrations import run_env

run_env(metadata, ScoringSettings())
