"""API bodies of the plans domain: an edition's fieldwork settings and re-planning."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field

from services.fieldwork.inputs import Input


class WindowOut(BaseModel):
    channel: str
    starts_on: date
    ends_on: date


class QuotaOut(BaseModel):
    channel: str
    audits_per_site: int
    requires_option: str | None


class EditionSettingsIn(Input):
    auto_validate: bool | None = Field(
        default=None, description="validate a submission at once when every check passes"
    )
    appeal_opens_on: date | None = None
    appeal_closes_on: date | None = None


class EditionSettingsOut(BaseModel):
    edition_id: uuid.UUID
    year: int | None
    auto_validate: bool
    appeal_opens_on: date | None
    appeal_closes_on: date | None
    planning_seed: int
    windows: list[WindowOut]
    quotas: list[QuotaOut]
    calendar_source: str = Field(description="`event` (the registry's calendar) or `default`")


class ReplanIn(Input):
    seed: int | None = Field(default=None, ge=0, le=2**62, description="a new planning seed")


class ReplanOut(BaseModel):
    sites: int
    tasks_planned: int


class ProgressOut(BaseModel):
    edition_id: uuid.UUID
    sites_planned: int
    structures_planned: int
    tasks: dict[str, int] = Field(description="tasks per status (statuses with none left out)")
