"""Offers, options and quotes (pure): what a registration may choose and what it costs.

Amounts are integer euro cents excluding VAT. VAT is computed once, on the total excluding
VAT, and rounded to the nearest cent, halves away from zero (ROUND_HALF_UP), so the quote's
total including VAT is always `total_excl_vat_cents + vat_cents`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class LineKind(StrEnum):
    OFFER = "offer"  # what a registration chooses exactly one of
    OPTION = "option"  # what it may add


class Unit(StrEnum):
    """What an amount is counted per."""

    REGISTRATION = "registration"
    SITE = "site"  # every audited site, the principal one included
    SUPPLEMENTARY_SITE = "supplementary_site"  # every audited site beyond the principal one


@dataclass(frozen=True)
class CatalogueLine:
    code: str
    label: str
    kind: LineKind
    unit_price_cents: int
    unit: Unit = Unit.REGISTRATION
    # For an option: the offers it may be taken with. For an offer: unused.
    offers: tuple[str, ...] = ()
    # For an offer: how many sites it audits at most (None: no limit). For an option: unused.
    max_sites: int | None = None
    # A line only the operator adds (e.g. the professional audit, a service on request).
    operator_only: bool = False
    position: int = 0


@dataclass(frozen=True)
class QuoteLine:
    code: str
    label: str
    quantity: int
    unit_price_cents: int

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    vat_rate: Decimal

    @property
    def total_excl_vat_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)

    @property
    def vat_cents(self) -> int:
        vat = Decimal(self.total_excl_vat_cents) * self.vat_rate
        return int(vat.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def total_incl_vat_cents(self) -> int:
        return self.total_excl_vat_cents + self.vat_cents


def _quantity(unit: Unit, site_count: int) -> int:
    if unit is Unit.SITE:
        return site_count
    if unit is Unit.SUPPLEMENTARY_SITE:
        return max(site_count - 1, 0)
    return 1


def choice_problems(
    catalogue: Sequence[CatalogueLine],
    offer: str,
    options: Sequence[str],
    site_count: int,
    *,
    by_operator: bool,
) -> list[tuple[str, str]]:
    """(field, message) for every reason the choice is not allowed by the catalogue."""
    by_code = {line.code: line for line in catalogue}
    chosen = by_code.get(offer)
    if chosen is None or chosen.kind is not LineKind.OFFER:
        known = ", ".join(sorted(c.code for c in catalogue if c.kind is LineKind.OFFER))
        return [("offer", f"unknown offer {offer!r}; this edition offers: {known}")]
    problems: list[tuple[str, str]] = []
    if chosen.max_sites is not None and site_count > chosen.max_sites:
        problems.append(
            (
                "site_ids",
                f"the {offer} offer audits at most {chosen.max_sites} site(s), not {site_count}",
            )
        )
    if len(set(options)) != len(options):
        problems.append(("options", "each option may be chosen once"))
    for i, code in enumerate(options):
        line = by_code.get(code)
        if line is None or line.kind is not LineKind.OPTION:
            problems.append((f"options[{i}]", f"unknown option {code!r}"))
        elif offer not in line.offers:
            problems.append(
                (f"options[{i}]", f"the option {code!r} is not available with the {offer} offer")
            )
        elif line.operator_only and not by_operator:
            problems.append(
                (f"options[{i}]", f"the option {code!r} is added by the operator on request")
            )
    return problems


def supplementary_site_line(catalogue: Sequence[CatalogueLine]) -> CatalogueLine | None:
    """The line that prices supplementary sites, when the catalogue has one."""
    return next(
        (c for c in catalogue if c.kind is LineKind.OPTION and c.unit is Unit.SUPPLEMENTARY_SITE),
        None,
    )


def quote(
    catalogue: Sequence[CatalogueLine],
    offer: str,
    options: Sequence[str],
    site_count: int,
    vat_rate: Decimal,
) -> Quote:
    """The quote of a (valid) choice: the offer, its supplementary sites, then each option in
    catalogue order. Supplementary sites are priced whenever more than one site is audited."""
    by_code = {line.code: line for line in catalogue}
    chosen = by_code[offer]
    lines = [QuoteLine(chosen.code, chosen.label, 1, chosen.unit_price_cents)]
    taken = set(options)
    extra = supplementary_site_line(catalogue)
    if extra is not None and site_count > 1:
        taken.add(extra.code)
    for line in sorted(catalogue, key=lambda c: c.position):
        if line.kind is LineKind.OPTION and line.code in taken:
            quantity = _quantity(line.unit, site_count)
            if quantity > 0:
                lines.append(QuoteLine(line.code, line.label, quantity, line.unit_price_cents))
    return Quote(lines=tuple(lines), vat_rate=vat_rate)
