"""API bodies of registrations and their review."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import Field, model_validator

from services.registry.common import Code, Documented, Input, Reason
from services.registry.vocabulary import RegistrationStatus


def _no_repeats(values: list[uuid.UUID] | list[str] | None, what: str) -> None:
    if values is not None and len(values) != len(set(values)):
        raise ValueError(f"each {what} may be given once")


class RegistrationIn(Input):
    structure_id: uuid.UUID
    offer: Code = Field(default="standard", description="An offer code of the edition's catalogue.")
    site_ids: list[uuid.UUID] | None = Field(
        default=None,
        max_length=500,
        description="The sites to audit, the principal one included; default: the principal site.",
    )
    options: list[Code] = Field(
        default_factory=list, max_length=20, description="Option codes of the catalogue."
    )
    competes_for_trophies: bool = Field(default=False, description="Whether it competes.")

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _no_repeats(self.site_ids, "site")
        _no_repeats(self.options, "option")
        return self


BULK_MAX_REGISTRATIONS = 1000


class BulkRegistrationsIn(Input):
    """The operator's panel: structures registered together (and accepted, with `accept`)."""

    items: list[RegistrationIn] = Field(
        min_length=1,
        max_length=BULK_MAX_REGISTRATIONS,
        description="The registrations, each as the single registration route takes it.",
    )
    accept: bool = Field(default=False, description="Accept them too (one event each).")


class BulkRegisteredOut(Documented):
    registrations: list[RegistrationOut] = Field(
        description="The registrations made, in the order of the request's items."
    )


class RegistrationPatch(Input):
    """The operator adjusts a registration under review (e.g. adds a line on request)."""

    offer: Code | None = None
    site_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    options: list[Code] | None = Field(default=None, max_length=20)
    competes_for_trophies: bool | None = None

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _no_repeats(self.site_ids, "site")
        _no_repeats(self.options, "option")
        return self


class DecisionIn(Input):
    reason: Reason | None = Field(
        default=None, description="Why; required to refuse, waitlist or withdraw."
    )


class StratumOut(Documented):
    code: str
    label: str


class RegistrationOut(Documented):
    id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    status: RegistrationStatus
    offer: str
    options: list[str]
    site_ids: list[uuid.UUID]
    competes_for_trophies: bool
    applied_by: str = Field(description="`structure` (it applied) or `operator` (selected).")
    stratum: StratumOut | None = Field(description="Derived; null while no rule matches.")
    decision_reason: str | None
    created_at: datetime
    decided_at: datetime | None
