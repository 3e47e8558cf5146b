"""API models of scoring's copies of published grids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class GridOut(BaseModel):
    code: str
    version: int
    channel: str
    rules_version: str
    body: dict[str, Any]
    received_at: datetime
