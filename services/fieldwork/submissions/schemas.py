"""API bodies of the submissions domain: answers and evidence."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, StrictBool

from services.fieldwork.grids.schemas import GridOut
from services.fieldwork.inputs import Input, Text
from services.fieldwork.tasks.schemas import TaskOut

# A JSON 1 must stay a number: with a plain `bool` first, pydantic would read it as true.
AnswerValue = (
    StrictBool
    | Annotated[Decimal, Field(ge=-(10**9), le=10**9)]
    | Annotated[Text, Field(max_length=2000)]
    | None
)


class AnswerIn(Input):
    item_code: Text = Field(min_length=1, max_length=100)
    value: AnswerValue = None
    not_applicable: bool = False


class EvidenceIn(Input):
    """What happened, as the auditor observed it; the service measures delays from it."""

    # Every timestamp the API accepts carries its UTC offset (a naive one is ambiguous).
    contacted_at: AwareDatetime = Field(description="when the request was made")
    answered_at: AwareDatetime | None = Field(
        default=None, description="when a reply arrived (e-mail, letter, social network...)"
    )
    rings: int | None = Field(default=None, ge=0, le=100, description="phone: rings")
    waiting_seconds: int | None = Field(
        default=None, ge=0, le=86_400, description="time on hold or waiting at the desk"
    )
    agent_named: bool | None = Field(default=None, description="the agent gave their name")


class SubmissionIn(Input):
    answers: list[AnswerIn] = Field(max_length=200)
    evidence: EvidenceIn
    remarks: Text | None = Field(default=None, max_length=5000)


BULK_MAX_SUBMISSIONS = 500
BULK_MAX_VALIDATIONS = 2000


class BulkSubmissionIn(SubmissionIn):
    task_id: uuid.UUID


class BulkSubmissionsIn(Input):
    submissions: list[BulkSubmissionIn] = Field(min_length=1, max_length=BULK_MAX_SUBMISSIONS)


class BulkSubmittedOut(BaseModel):
    submitted: int
    validated: int = Field(description="validated at once (the edition's auto_validate)")


class BulkValidationsIn(Input):
    task_ids: list[uuid.UUID] = Field(min_length=1, max_length=BULK_MAX_VALIDATIONS)


class BulkValidatedOut(BaseModel):
    validated: int


class AnswerOut(BaseModel):
    item_code: str
    value: bool | Decimal | str | None
    not_applicable: bool


class SubmissionOut(BaseModel):
    answers: list[AnswerOut]
    remarks: str | None
    evidence: dict[str, Any] | None
    reply_delay_working_days: int | None
    submitted_at: datetime | None


class TaskDetailOut(TaskOut):
    grid: GridOut
    submission: SubmissionOut | None
