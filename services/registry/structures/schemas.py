"""API bodies of structures, their sites, contact points and certifications."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal, Self

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field, HttpUrl, StringConstraints, model_validator

from services.registry.common import Documented, Input, Name, TerritoryCode
from services.registry.structures.rules import siren_problem, territory_field
from services.registry.vocabulary import CertificationName, StructureType


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from exc


def _phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{value!r} is not a valid French (or international) phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _address(value: str) -> str:
    # A French postal address ends its last line with a 5-digit postal code and the town.
    if not any(part.isdigit() and len(part) == 5 for part in value.replace(",", " ").split()):
        raise ValueError("a postal address includes its 5-digit postal code")
    return value


def _siren(value: str) -> str:
    problem = siren_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Text500 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Siren = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_siren)]


class EmailContact(Input):
    channel: Literal["email"]
    value: Annotated[Text500, AfterValidator(_email)] = Field(description="E-mail address.")


class PhoneContact(Input):
    channel: Literal["phone"]
    value: Annotated[Text500, AfterValidator(_phone)] = Field(
        description="Phone number (French numbers may omit +33); stored in E.164 form. "
        "Also used for the answering-machine audits."
    )


class LetterContact(Input):
    channel: Literal["letter"]
    value: Annotated[Text500, AfterValidator(_address)] = Field(
        description="Postal address, with its 5-digit postal code."
    )


class WebsiteContact(Input):
    channel: Literal["website"]
    value: HttpUrl = Field(description="Website or e-procedure URL.")


class SocialContact(Input):
    channel: Literal["social_network"]
    value: HttpUrl = Field(description="URL of a social-network account.")


ContactIn = Annotated[
    EmailContact | PhoneContact | LetterContact | WebsiteContact | SocialContact,
    Field(discriminator="channel"),
]


class ContactOut(Documented):
    channel: str
    value: str


class SiteIn(Input):
    name: Name
    principal: bool = Field(default=False, description="The principal site (exactly one).")
    commune_code: TerritoryCode | None = Field(
        default=None, description="INSEE code of the site's commune; default: the structure's."
    )
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)


class SiteOut(Documented):
    id: uuid.UUID
    name: str
    principal: bool
    commune_code: str | None
    departement_code: str | None
    contacts: list[ContactOut]


class CertificationIn(Input):
    name: CertificationName
    obtained_on: date
    expires_on: date | None = Field(default=None, description="Null: no expiry known.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.expires_on is not None and self.expires_on < self.obtained_on:
            raise ValueError("a certification expires after it is obtained")
        return self


class CertificationOut(Documented):
    name: str
    obtained_on: date
    expires_on: date | None


class StructureIn(Input):
    name: Name
    type: StructureType
    siren: Siren | None = Field(default=None, description="9 digits; its Luhn key is checked.")
    commune_code: TerritoryCode | None = Field(
        default=None, description="INSEE code of the commune (every type but the three below)."
    )
    epci_siren: TerritoryCode | None = Field(default=None, description="For an intercommunality.")
    departement_code: TerritoryCode | None = Field(default=None, description="For a département.")
    region_code: TerritoryCode | None = Field(default=None, description="For a région.")
    certifications: list[CertificationIn] = Field(default_factory=list, max_length=20)
    sites: list[SiteIn] = Field(
        default_factory=list,
        max_length=200,
        description="The principal site and any supplementary ones; default: one principal "
        "site named after the structure.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        wanted = territory_field(self.type)
        if getattr(self, wanted) is None:
            raise ValueError(f"a structure of type {self.type} needs {wanted}")
        extra = [
            f
            for f in ("commune_code", "epci_siren", "departement_code", "region_code")
            if f != wanted and getattr(self, f) is not None
        ]
        if extra:
            raise ValueError(
                f"a structure of type {self.type} gives only {wanted}; "
                f"{', '.join(extra)} is derived from it or does not apply"
            )
        names = [c.name for c in self.certifications]
        if len(names) != len(set(names)):
            raise ValueError("each certification may be given once")
        if self.sites and sum(s.principal for s in self.sites) != 1:
            raise ValueError("exactly one site is the principal site")
        return self


class SiteAddIn(SiteIn):
    """A supplementary site added to an existing structure."""

    principal: Literal[False] = False


class StructureOut(Documented):
    id: uuid.UUID
    name: str
    type: StructureType
    siren: str | None
    commune_code: str | None
    epci_siren: str | None
    departement_code: str | None
    region_code: str | None
    population: int | None = Field(description="Legal population of its territory (derived).")
    certifications: list[CertificationOut]
    sites: list[SiteOut]
    created_at: datetime


class RowError(Documented):
    line: int = Field(description="Line of the CSV file (the header is line 1).")
    reason: str


class ImportOut(Documented):
    created: int
    structure_ids: list[uuid.UUID]
    errors: list[RowError] = Field(description="Rows not created (only with `partial=true`).")


CSV_DOC = (
    "name;type;territory_code;siren;email;phone\n"
    "Mairie de Rezé;city_hall;44143;214401432;accueil@mairie-reze.fr;02 40 84 43 00\n"
)
