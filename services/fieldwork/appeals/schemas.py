"""API bodies of the appeals domain."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from services.fieldwork.inputs import Input, Text
from services.fieldwork.statuses import AppealStatus
from services.fieldwork.submissions.schemas import AnswerOut, AnswerValue


class AppealIn(Input):
    item_code: Text = Field(min_length=1, max_length=100)
    reason: Text = Field(min_length=1, max_length=5000)


class UpholdIn(Input):
    value: AnswerValue = None
    not_applicable: bool = False
    reason: Text = Field(min_length=1, max_length=5000)


class RejectIn(Input):
    reason: Text = Field(min_length=1, max_length=5000)


class AppealOut(BaseModel):
    id: uuid.UUID
    task_id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    item_code: str
    reason: str
    status: AppealStatus
    decision_reason: str | None
    corrected_answer: dict[str, Any] | None
    created_at: datetime
    decided_at: datetime | None


class AuditOut(BaseModel):
    """A validated audit as its structure reads it: no auditor, ever."""

    id: uuid.UUID
    site_id: uuid.UUID
    channel: str
    planned_on: date
    scenario_code: str | None
    grid_code: str
    grid_version: int
    revision: int
    reply_delay_working_days: int | None
    validated_at: datetime | None
    answers: list[AnswerOut]
