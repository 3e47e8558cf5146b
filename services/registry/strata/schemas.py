"""API bodies of strata: rules, strata with their counts, re-derivation results."""

from __future__ import annotations

import uuid
from typing import Literal, Self

from pydantic import Field, model_validator

from services.registry.common import Code, Documented, Input, Name
from services.registry.vocabulary import StructureType


class StratumRuleIn(Input):
    code: Code = Field(description="Stable code of the stratum, e.g. `cities-20k-50k`.")
    label: Name = Field(description="Label shown in reports.")
    structure_types: list[StructureType] = Field(
        min_length=1, description="The structure types this stratum groups."
    )
    min_population: int | None = Field(
        default=None, ge=0, le=100_000_000, description="Lower bound of the band; null: none."
    )
    min_inclusive: bool = Field(default=True, description="Whether `min_population` itself is in.")
    max_population: int | None = Field(
        default=None, ge=0, le=100_000_000, description="Upper bound of the band; null: none."
    )
    max_inclusive: bool = Field(default=True, description="Whether `max_population` itself is in.")


class StratumRuleOut(Documented):
    code: str
    label: str
    structure_types: list[str]
    min_population: int | None
    min_inclusive: bool
    max_population: int | None
    max_inclusive: bool
    position: int = Field(description="Rules are tried in this order; the first match wins.")


class RulesIn(Input):
    rules: list[StratumRuleIn] = Field(
        min_length=1, description="The edition's rules, in order: the first that matches wins."
    )

    @model_validator(mode="after")
    def _unique_codes(self) -> Self:
        codes = [r.code for r in self.rules]
        if len(codes) != len(set(codes)):
            raise ValueError("each stratum code may be given once")
        return self


class StratumCountOut(Documented):
    code: str
    label: str
    structures: int = Field(description="Accepted registrations of the edition in this stratum.")


class StratumChangeOut(Documented):
    registration_id: uuid.UUID
    structure_id: uuid.UUID
    from_code: str | None
    to_code: str | None


class RederivationOut(Documented):
    rules: list[StratumRuleOut]
    changes: list[StratumChangeOut] = Field(description="Registrations whose stratum changed.")
    unmatched: int = Field(description="Registrations under review or accepted no rule matches.")


UnmatchedScope = Literal["registrations", "structures"]


class UnmatchedOut(Documented):
    registration_id: uuid.UUID | None = Field(description="Its registration; null: not registered.")
    structure_id: uuid.UUID
    structure_name: str
    structure_type: str
    population: int | None
    status: str | None = Field(description="Status of its registration; null: not registered.")
