"""API bodies of the citizen-voice intake."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from services.fieldwork.inputs import Text
from shared.contracts.fieldwork import VoiceKind
from shared.schemas import StrictRequest

# The fields each kind needs (the rest are optional).
REQUIRED: dict[str, tuple[str, ...]] = {
    "citizen_survey": ("satisfaction",),
    "agent_survey": ("satisfaction",),
    "kiosk_feedback": ("satisfied",),
    "consultation": ("participants", "population_reached"),
}


class VoiceIn(StrictRequest):
    model_config = ConfigDict(str_strip_whitespace=True)

    edition_id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID | None = None
    received_at: AwareDatetime = Field(description="when the citizen or agent answered")
    satisfied: StrictBool | None = None
    satisfaction: Decimal | None = Field(default=None, ge=0, le=100)
    reason: Text | None = Field(default=None, max_length=500)
    comment: Text | None = Field(default=None, max_length=5000)
    participants: int | None = Field(default=None, ge=0, le=10**9)
    population_reached: int | None = Field(default=None, ge=0, le=10**9)

    def missing_for(self, kind: VoiceKind) -> list[str]:
        return [
            f"{name}: required for {kind}" for name in REQUIRED[kind] if getattr(self, name) is None
        ]


class RowError(BaseModel):
    row: int = Field(description="1-based line (NDJSON) or data row (CSV)")
    errors: list[str]


class VoiceAccepted(BaseModel):
    voice_id: uuid.UUID


class BulkOut(BaseModel):
    received: int
    accepted: int
    voice_ids: list[uuid.UUID]
    rejected: list[RowError]


def errors_of(exc_errors: list[Any]) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or '(row)'}: {e['msg']}" for e in exc_errors]
