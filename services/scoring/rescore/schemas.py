"""API models of a re-score."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class RescoreOut(BaseModel):
    edition_id: uuid.UUID
    generation: int
    building_generation: int | None
    status: str | None
    done: int
    total: int
    started_at: datetime | None
    finished_at: datetime | None
