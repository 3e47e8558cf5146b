"""API models of dead letters."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DeadLetterOut(BaseModel):
    id: int
    consumer: str
    stream: str
    stream_sequence: int
    subject: str
    deliveries: int
    reason: str
    received_at: datetime
    replay_outcome: str | None = Field(description="applied, or duplicate (already applied)")
    replayed_at: datetime | None
