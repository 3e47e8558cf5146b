"""API models of an edition's scoring settings."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from shared.schemas import StrictRequest


class _EditionSettings(BaseModel):
    performing_threshold: Decimal = Field(default=Decimal(80), ge=0, le=100, decimal_places=2)
    channel_weights: dict[str, Decimal] = Field(
        default_factory=dict,
        description="weight of each channel in a structure's score (absent: 1; 0 leaves it out)",
    )
    min_voice_responses: int = Field(default=30, ge=1, le=1_000_000)


class EditionSettingsIn(_EditionSettings, StrictRequest):
    """Taken as JSON types, uncoerced; unknown fields refused."""


class EditionSettingsOut(_EditionSettings):
    configured: bool = Field(description="false when the defaults apply")
    in_force: dict[str, object] | None = Field(
        description="the settings of the generation readers see (a change applies at the next "
        "re-score)"
    )
