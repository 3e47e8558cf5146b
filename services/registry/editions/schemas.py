"""API bodies of editions: creation (from a preset or a previous edition), edits, transitions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from services.registry.common import Code, Documented, Input, Name
from services.registry.offers.schemas import OfferLineIn, OfferLineOut, check_catalogue
from services.registry.strata.schemas import StratumRuleIn, StratumRuleOut
from services.registry.vocabulary import Channel, EditionStatus


class WindowIn(Input):
    channel: Channel
    starts_on: date = Field(description="First day of the channel's audits (inclusive).")
    ends_on: date = Field(description="Last day of the channel's audits (inclusive).")


class WindowOut(Documented):
    channel: Channel
    starts_on: date
    ends_on: date


class CalendarIn(Input):
    registration_deadline: date | None = Field(
        default=None, description="Last day a structure may apply (inclusive)."
    )
    selection_notice_on: date | None = Field(
        default=None, description="When candidates are told whether they are selected."
    )
    windows: list[WindowIn] = Field(
        default_factory=list,
        max_length=100,
        description="Fieldwork windows; a channel may have several (2020 had two periods).",
    )
    results_dispatch_on: date | None = Field(
        default=None, description="When structures receive their results."
    )
    ceremony_on: date | None = Field(default=None, description="Trophies ceremony.")


class CalendarOut(Documented):
    registration_deadline: date | None
    selection_notice_on: date | None
    windows: list[WindowOut]
    results_dispatch_on: date | None
    ceremony_on: date | None


class QuotaIn(Input):
    channel: Channel
    audits_per_site: int = Field(ge=0, le=100, description="Audits per site on this channel.")
    requires_option: Code | None = Field(
        default=None, description="The option that brings these audits (e.g. `visits`); null: all."
    )


class QuotaOut(Documented):
    channel: Channel
    audits_per_site: int
    requires_option: str | None


def _unique_quotas(quotas: list[QuotaIn] | None) -> list[QuotaIn] | None:
    if quotas is not None:
        channels = [q.channel for q in quotas]
        if len(channels) != len(set(channels)):
            raise ValueError("one quota per channel")
    return quotas


def _valid_catalogue(offers: list[OfferLineIn] | None) -> list[OfferLineIn] | None:
    if offers is not None:
        check_catalogue(offers)
    return offers


class _Settings(Input):
    """What both creation and edits may set (every field optional)."""

    number: int | None = Field(
        default=None, ge=1, le=1000, description="Edition number (the 6th in 2017)."
    )
    name: Name | None = None
    trophies_name: Name | None = None
    min_population: int | None = Field(
        default=None, ge=0, le=100_000_000,
        description="Minimum population of the host commune (commune-based structures); null: none.",
    )  # fmt: skip
    min_intercommunality_population: int | None = Field(
        default=None, ge=0, le=100_000_000,
        description="Minimum population of an intercommunality; null: none.",
    )  # fmt: skip
    max_accepted: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Cap on accepted registrations; null: none."
    )
    vat_rate: Decimal | None = Field(
        default=None, ge=0, le=1, max_digits=5, decimal_places=4, description="e.g. 0.20"
    )
    calendar: CalendarIn | None = None
    quotas: list[QuotaIn] | None = Field(default=None, max_length=20)
    offers: list[OfferLineIn] | None = Field(default=None, max_length=50, description="Catalogue.")

    _quotas = field_validator("quotas")(_unique_quotas)
    _offers = field_validator("offers")(_valid_catalogue)


class EditionIn(_Settings):
    preset: Literal["2017", "2020"] | None = Field(
        default=None,
        description="Start from the 2017 or 2020 edition: its strata, calendar, eligibility, "
        "quotas and catalogue (the fields given here override it).",
    )
    copy_from: uuid.UUID | None = Field(
        default=None, description="Start from a previous edition's configuration."
    )
    year: int | None = Field(default=None, ge=2012, le=2100)
    strata: list[StratumRuleIn] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _source(self) -> Self:
        if self.preset is not None and self.copy_from is not None:
            raise ValueError("give a preset or copy_from, not both")
        if self.preset is None:
            missing = [f for f in ("year", "number", "name") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"{', '.join(missing)} required (or a preset)")
        if self.strata is not None:
            codes = [r.code for r in self.strata]
            if len(codes) != len(set(codes)):
                raise ValueError("each stratum code may be given once")
        return self


class EditionPatch(_Settings):
    """Only the fields given change; null clears an optional one. Draft editions only."""

    year: int | None = Field(default=None, ge=2012, le=2100)


class EditionOut(Documented):
    id: uuid.UUID
    year: int
    number: int
    name: str
    trophies_name: str | None
    status: EditionStatus
    preset: str | None = Field(description="The preset it started from, if any.")
    copied_from: uuid.UUID | None = Field(description="The edition it started from, if any.")
    min_population: int | None
    min_intercommunality_population: int | None
    max_accepted: int | None
    vat_rate: Decimal
    calendar: CalendarOut
    quotas: list[QuotaOut]
    offers: list[OfferLineOut]
    strata: list[StratumRuleOut]
    created_at: datetime


class TransitionIn(Input):
    to: EditionStatus = Field(description="The next status (only one step forward is legal).")


class TransitionOut(Documented):
    from_status: EditionStatus | None
    to_status: EditionStatus
    actor_role: str
    actor_subject: str
    at: datetime
