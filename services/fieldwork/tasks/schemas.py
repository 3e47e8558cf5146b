"""API bodies of the tasks domain."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from services.fieldwork.inputs import Input, Text
from services.fieldwork.statuses import TaskStatus


class AssignIn(Input):
    auditor_id: uuid.UUID


class ReasonIn(Input):
    reason: Text = Field(min_length=1, max_length=2000)


class CancelIn(Input):
    reason: Text | None = Field(default=None, max_length=2000)


class TaskOut(BaseModel):
    id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID
    channel: str
    sequence: int
    planned_on: date
    scenario_code: str | None
    status: TaskStatus
    auditor_id: uuid.UUID | None
    grid_id: uuid.UUID
    revision: int
    return_reason: str | None
    reply_delay_working_days: int | None
    submitted_at: datetime | None
    validated_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class ScenarioOut(BaseModel):
    code: str
    label_fr: str
    label_en: str
    request: str


class AuditorTaskOut(BaseModel):
    """What an auditor sees of their task: what to do, where, and how to reach the site."""

    id: uuid.UUID
    channel: str
    planned_on: date
    status: TaskStatus
    scenario: ScenarioOut | None
    site_id: uuid.UUID
    contact: str | None = Field(description="the site's contact point on this channel")
    grid_code: str
    grid_version: int
    return_reason: str | None


class AuditorTaskPage(BaseModel):
    items: list[AuditorTaskOut]
    next_cursor: str | None


class TransitionOut(BaseModel):
    action: str
    from_status: str | None
    to_status: str
    actor_role: str
    actor: str
    reason: str | None
    at: datetime


class HistoryOut(BaseModel):
    task_id: uuid.UUID
    planned_at: datetime
    transitions: list[TransitionOut]
