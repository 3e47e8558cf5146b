"""API bodies of the auditors domain."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from services.fieldwork.channels import Channel
from services.fieldwork.inputs import Input, Text

# A département code: 01..95, 2A, 2B, or an overseas 971..976.
Departement = Annotated[str, Field(pattern=r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])$")]


class AuditorIn(Input):
    pseudonym: Text = Field(min_length=1, max_length=100)
    home_departement_code: Departement
    channels: list[Channel] = Field(min_length=1, max_length=7)
    weekly_capacity: int = Field(ge=1, le=100)
    linked_structure_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    active: bool = True


class AuditorPatch(Input):
    home_departement_code: Departement | None = None
    channels: list[Channel] | None = Field(default=None, min_length=1, max_length=7)
    weekly_capacity: int | None = Field(default=None, ge=1, le=100)
    linked_structure_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)
    active: bool | None = None


class AuditorOut(BaseModel):
    id: uuid.UUID
    pseudonym: str
    home_departement_code: str
    channels: list[str]
    weekly_capacity: int
    active: bool
    linked_structure_ids: list[uuid.UUID]


class AuditorPage(BaseModel):
    items: list[AuditorOut]


class UnassignedOut(BaseModel):
    task_id: uuid.UUID
    reason: str


class AutoAssignmentOut(BaseModel):
    assigned: int
    unassigned: list[UnassignedOut]
