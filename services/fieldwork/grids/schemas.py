"""API bodies of the grids domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from shared.contracts.fieldwork import GridItemV2


class GridSummaryOut(BaseModel):
    id: uuid.UUID
    code: str
    version: int
    channel: str
    item_count: int
    published_at: datetime | None


class GridOut(BaseModel):
    id: uuid.UUID
    code: str
    version: int
    channel: str
    rules_version: str
    items: list[GridItemV2]
