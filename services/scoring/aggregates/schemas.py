"""API models of scores and aggregates (exact figures; `*_display` rounded to 2 decimals)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field


class AuditScoreOut(BaseModel):
    audit_id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID
    channel: str
    revision: int
    status: str = Field(
        description="scored; pending until the audit's grid arrives; rejected when the parked "
        "audit turned out not to fit its grid (see `rejection`)"
    )
    rejection: str | None = None
    grid_code: str
    grid_version: int
    methodology: str | None = Field(description="grid code:version:rules version:engine version")
    score: Decimal | None = Field(description="/100, 2 decimals (half-up)")
    score_exact: Decimal | None = Field(description="/100, scoring's stored exact form")
    points_obtained: Decimal | None
    points_possible: Decimal | None
    scored_at: datetime


class StructureOut(BaseModel):
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    generation: int
    stratum_code: str
    structure_type: str
    certified: bool
    audits: int
    score: Decimal | None = Field(description="/100, exact (10 decimals)")
    score_display: Decimal | None
    figures: dict[str, Any] = Field(
        description="channels, sites, criterion, journey_step, item: {score, audits}"
    )


class GroupOut(BaseModel):
    edition_id: uuid.UUID
    generation: int
    kind: str
    key: str
    structures: int
    audits: int
    figures: dict[str, Any]
    refreshed_at: datetime | None
