"""Events the registry publishes (stream `REGISTRY`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from shared.contracts.base import Payload


class EditionCreatedV1(Payload):
    edition_id: uuid.UUID
    year: int
    name: str
    status: str
    # Added by reporting (optional, compatible): the edition's number and the calendar's day
    # from which each structure reads its own results.
    number: int | None = None
    results_dispatch_on: date | None = Field(
        default=None, description="structures read their own results from this day on"
    )


class SiteRef(Payload):
    site_id: uuid.UUID
    name: str
    principal: bool


class RegistrationAcceptedV1(Payload):
    registration_id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    structure_type: str
    commune_code: str | None
    population: int | None
    stratum_code: str
    stratum_label: str
    certified: bool
    offer: str
    sites: list[SiteRef]


# --- v2: everything fieldwork and scoring need to plan and compare ----------------------------


class ContactPointV2(Payload):
    """How an auditor reaches a site on one channel (an address, a number, a URL...)."""

    channel: str = Field(description="email, letter, phone, answering_machine, website, ...")
    value: str


class SiteV2(Payload):
    site_id: uuid.UUID
    name: str
    principal: bool
    commune_code: str | None
    departement_code: str | None
    contacts: list[ContactPointV2]


class ChannelWindowV2(Payload):
    """A period (inclusive dates) in which a channel's audits take place; a channel may have
    several (2020 had two periods around a pause)."""

    channel: str
    starts_on: date
    ends_on: date


class ChannelQuotaV2(Payload):
    """Audits per site on a channel; `requires_option` names the option that brings them
    (e.g. `visits` for the 2 mystery visits), None when every site gets them."""

    channel: str
    audits_per_site: int = Field(ge=0)
    requires_option: str | None = None


class RegistrationAcceptedV2(Payload):
    registration_id: uuid.UUID
    edition_id: uuid.UUID
    edition_year: int
    structure_id: uuid.UUID
    structure_name: str
    structure_type: str
    commune_code: str | None
    departement_code: str | None
    region_code: str | None
    population: int | None
    stratum_code: str
    stratum_label: str
    certified: bool = Field(description="certified at the time of the edition's fieldwork")
    certifications: list[str]
    offer: str
    options: list[str]
    competes_for_trophies: bool
    sites: list[SiteV2]
    windows: list[ChannelWindowV2]
    quotas: list[ChannelQuotaV2]

    def as_v1(self) -> RegistrationAcceptedV1:
        """The v1 reading of this event, for consumers that need no more than v1 carried."""
        return RegistrationAcceptedV1(
            registration_id=self.registration_id,
            edition_id=self.edition_id,
            structure_id=self.structure_id,
            structure_type=self.structure_type,
            commune_code=self.commune_code,
            population=self.population,
            stratum_code=self.stratum_code,
            stratum_label=self.stratum_label,
            certified=self.certified,
            offer=self.offer,
            sites=[
                SiteRef(site_id=s.site_id, name=s.name, principal=s.principal) for s in self.sites
            ],
        )


class EditionStatusChangedV1(Payload):
    """An edition moved one step in its life (draft → registration_open → ...)."""

    edition_id: uuid.UUID
    year: int
    from_status: str
    to_status: str
    actor_role: str
    actor_subject: str = Field(description="The token subject (an id) that made the change.")
    # Added by reporting (optional, compatible): the calendar's results dispatch day.
    results_dispatch_on: date | None = None


class EditionCalendarChangedV1(Payload):
    """Added by reporting: the edition's reporting dates were set or moved."""

    edition_id: uuid.UUID
    year: int
    results_dispatch_on: date | None = Field(
        description="structures read their own results from this day on (None: not set)"
    )


class StratumChangedV1(Payload):
    """A registered structure's stratum in an edition was derived anew (rules or population
    changed); `to_code` is None when no rule matches any more."""

    edition_id: uuid.UUID
    registration_id: uuid.UUID
    structure_id: uuid.UUID
    population: int | None
    from_code: str | None
    from_label: str | None
    to_code: str | None
    to_label: str | None


class RegistrationWithdrawnV1(Payload):
    """An accepted registration was withdrawn: its audits should not be planned or kept."""

    edition_id: uuid.UUID
    registration_id: uuid.UUID
    structure_id: uuid.UUID
    reason: str


class PartnerOptInChangedV1(Payload):
    """A structure opted in to a partner (an OAuth client) or withdrew its opt-in. Fieldwork and
    reporting keep a copy, to check a partner's reach without calling the registry; the copy
    keeps the latest `changed_at` per pair, so a late redelivery changes nothing."""

    structure_id: uuid.UUID
    client_id: str
    opted_in: bool = Field(description="true: the partner may reach the structure's data")
    changed_by: str = Field(description="The token subject that made the change.")
    changed_at: datetime


PAYLOADS: dict[str, type[Payload]] = {
    "registry.edition.created.v1": EditionCreatedV1,
    "registry.edition.status_changed.v1": EditionStatusChangedV1,
    "registry.edition.calendar_changed.v1": EditionCalendarChangedV1,
    "registry.structure.stratum_changed.v1": StratumChangedV1,
    "registry.registration.withdrawn.v1": RegistrationWithdrawnV1,
    "registry.registration.accepted.v1": RegistrationAcceptedV1,
    "registry.registration.accepted.v2": RegistrationAcceptedV2,
    "registry.partner_opt_in.changed.v1": PartnerOptInChangedV1,
}
