"""API bodies of the offer catalogue and quotes."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator

from services.registry.common import Code, Documented, Input, Name
from services.registry.offers.rules import LineKind, Unit


class OfferLineIn(Input):
    code: Code = Field(description="Code of the offer or option, e.g. `personalised`, `visits`.")
    label: Name
    kind: LineKind = Field(description="`offer` (a registration takes one) or `option`.")
    unit_price_cents: int = Field(
        ge=0, le=100_000_000, description="Price in euro cents, excl. VAT."
    )
    unit: Unit = Field(
        default=Unit.REGISTRATION,
        description="What the price is counted per: the registration, each audited site, or "
        "each audited site beyond the principal one.",
    )
    offers: list[Code] = Field(
        default_factory=list, description="For an option: the offers it may be taken with."
    )
    max_sites: int | None = Field(
        default=None, ge=1, le=10_000, description="For an offer: most sites it audits; null: any."
    )
    operator_only: bool = Field(
        default=False, description="Only the operator adds it (a service on request)."
    )

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.kind is LineKind.OFFER and self.offers:
            raise ValueError("an offer line lists no offers (only options do)")
        if self.kind is LineKind.OPTION and not self.offers:
            raise ValueError("an option lists the offers it may be taken with")
        if self.kind is LineKind.OPTION and self.max_sites is not None:
            raise ValueError("max_sites belongs to offers")
        return self


class OfferLineOut(Documented):
    code: str
    label: str
    kind: LineKind
    unit_price_cents: int
    unit: Unit
    offers: list[str]
    max_sites: int | None
    operator_only: bool
    position: int


def check_catalogue(lines: list[OfferLineIn]) -> None:
    codes = [line.code for line in lines]
    if len(codes) != len(set(codes)):
        raise ValueError("each catalogue code may be given once")
    offers = {line.code for line in lines if line.kind is LineKind.OFFER}
    if not offers:
        raise ValueError("the catalogue holds at least one offer")
    for line in lines:
        unknown = set(line.offers) - offers
        if unknown:
            raise ValueError(f"option {line.code!r} names unknown offer(s) {sorted(unknown)}")


class QuoteLineOut(Documented):
    code: str
    label: str
    quantity: int
    unit_price_cents: int = Field(description="Euro cents, excl. VAT.")
    amount_cents: int = Field(description="quantity x unit_price_cents, excl. VAT.")


class QuoteOut(Documented):
    lines: list[QuoteLineOut]
    total_excl_vat_cents: int
    vat_rate: Decimal = Field(description="e.g. 0.2000 for 20 %.")
    vat_cents: int = Field(
        description="VAT on the total excl. VAT, rounded to the nearest cent (halves up)."
    )
    total_incl_vat_cents: int = Field(description="total_excl_vat_cents + vat_cents.")
