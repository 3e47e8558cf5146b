"""Request and response bodies of the fieldwork API."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from services.fieldwork.models import TaskStatus
from services.fieldwork.planning import Channel
from shared.contracts.fieldwork import GridItemV1


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- grids ------------------------------------------------------------------------------------


class GridSummaryOut(BaseModel):
    id: uuid.UUID
    code: str
    version: int
    channel: str
    item_count: int


class GridOut(BaseModel):
    id: uuid.UUID
    code: str
    version: int
    channel: str
    items: list[GridItemV1]


# --- auditors ---------------------------------------------------------------------------------


class AuditorIn(Input):
    pseudonym: Text = Field(min_length=1, max_length=100)
    # INSEE commune code: 5 characters, Corsica's départements being 2A and 2B.
    home_commune_code: str | None = Field(default=None, pattern=r"^(\d{2}|2A|2B)\d{3}$")
    linked_structure_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)


class AuditorOut(BaseModel):
    id: uuid.UUID
    pseudonym: str
    home_commune_code: str | None
    linked_structure_ids: list[uuid.UUID]


# --- tasks ------------------------------------------------------------------------------------


class AssignIn(Input):
    auditor_id: uuid.UUID


class ReturnIn(Input):
    reason: Text = Field(min_length=1, max_length=2000)


# A JSON 1 must stay a number: with a plain `bool` first, pydantic would read it as true.
AnswerValue = StrictBool | Annotated[Decimal, Field(ge=-(10**9), le=10**9)] | None


class AnswerIn(Input):
    item_code: Text = Field(min_length=1, max_length=100)
    value: AnswerValue = None
    not_applicable: bool = False


class Evidence(BaseModel):
    """When the request was made and answered, plus any free-form facts (rings, agent named...)."""

    model_config = ConfigDict(extra="allow")

    # Every timestamp the API accepts carries its UTC offset (a naive one is ambiguous).
    contacted_at: AwareDatetime | None = None
    answered_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Evidence:
        if self.contacted_at and self.answered_at and self.answered_at < self.contacted_at:
            raise ValueError("answered_at is before contacted_at")
        dumped = json.dumps(self.model_dump(mode="json"))
        if "\\u0000" in dumped:
            raise ValueError("must not contain NUL characters")
        if len(dumped) > 20_000:
            raise ValueError("evidence is too large (20,000 characters at most)")
        return self


class SubmissionIn(Input):
    answers: list[AnswerIn] = Field(max_length=200)
    remarks: Text | None = Field(default=None, max_length=5000)
    evidence: Evidence | None = None


class AnswerOut(BaseModel):
    item_code: str
    value: bool | Decimal | None
    not_applicable: bool


class SubmissionOut(BaseModel):
    answers: list[AnswerOut]
    remarks: str | None
    evidence: dict[str, Any] | None
    submitted_at: datetime | None


class TaskOut(BaseModel):
    id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID
    channel: Channel
    sequence: int
    status: TaskStatus
    auditor_id: uuid.UUID | None
    grid_id: uuid.UUID
    return_reason: str | None
    submitted_at: datetime | None
    validated_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TaskDetailOut(TaskOut):
    grid: GridOut
    submission: SubmissionOut | None


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None
