"""Request and response bodies of the registry API."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.registry.strata import StructureType

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EditionStatus(StrEnum):
    DRAFT = "draft"
    REGISTRATION_OPEN = "registration_open"
    REGISTRATION_CLOSED = "registration_closed"
    FIELDWORK = "fieldwork"
    SCORING = "scoring"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class CertificationName(StrEnum):
    QUALIVILLES = "qualivilles"
    MARIANNE = "marianne"
    ISO9001 = "iso9001"


class Offer(StrEnum):
    STANDARD = "standard"
    PERSONALISED = "personalised"


class RegistrationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"


# --- editions -------------------------------------------------------------------------------


class EditionIn(Input):
    year: int = Field(ge=2012, le=2100)
    name: Name
    min_population: int = Field(default=3500, ge=0, le=100_000_000)


class StratumRuleOut(BaseModel):
    code: str
    label: str
    structure_types: list[str]
    min_population: int | None
    max_population: int | None
    position: int


class EditionOut(BaseModel):
    id: uuid.UUID
    year: int
    name: str
    status: EditionStatus
    min_population: int
    strata: list[StratumRuleOut]


# --- structures -----------------------------------------------------------------------------


class CertificationIn(Input):
    name: CertificationName
    obtained_on: date


# Which territory field each kind of structure gives; every other one is refused.
_TERRITORY_FIELDS = ("commune_code", "epci_siren", "departement_code", "region_code")
_REQUIRED: dict[StructureType, str] = {
    StructureType.INTERCOMMUNALITY: "epci_siren",
    StructureType.DEPARTEMENT: "departement_code",
    StructureType.REGION: "region_code",
}


def territory_field(structure_type: StructureType) -> str:
    return _REQUIRED.get(structure_type, "commune_code")


class StructureIn(Input):
    name: Name
    type: StructureType
    commune_code: Code | None = None
    epci_siren: Code | None = None
    departement_code: Code | None = None
    region_code: Code | None = None
    certifications: list[CertificationIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_territory(self) -> Self:
        wanted = territory_field(self.type)
        if getattr(self, wanted) is None:
            raise ValueError(f"a structure of type {self.type} needs {wanted}")
        extra = [f for f in _TERRITORY_FIELDS if f != wanted and getattr(self, f) is not None]
        if extra:
            raise ValueError(
                f"a structure of type {self.type} gives only {wanted}; "
                f"{', '.join(extra)} is derived from it or does not apply"
            )
        names = [c.name for c in self.certifications]
        if len(names) != len(set(names)):
            raise ValueError("each certification may be given once")
        return self


class CertificationOut(BaseModel):
    name: str
    obtained_on: date


class SiteOut(BaseModel):
    id: uuid.UUID
    name: str
    principal: bool


class StructureOut(BaseModel):
    id: uuid.UUID
    name: str
    type: StructureType
    commune_code: str | None
    epci_siren: str | None
    departement_code: str | None
    region_code: str | None
    population: int | None
    certifications: list[CertificationOut]
    sites: list[SiteOut]


# --- registrations --------------------------------------------------------------------------


class RegistrationIn(Input):
    structure_id: uuid.UUID
    offer: Offer = Offer.STANDARD


class RefusalIn(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class StratumOut(BaseModel):
    code: str
    label: str


class RegistrationOut(BaseModel):
    id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    status: RegistrationStatus
    offer: Offer
    stratum: StratumOut
    refusal_reason: str | None
