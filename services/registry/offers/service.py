"""The offer catalogue of an edition, and quotes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.editions import repository as editions_repo
from services.registry.models import OfferLine
from services.registry.offers import repository as repo
from services.registry.offers.rules import CatalogueLine, LineKind, Quote, Unit, quote
from services.registry.offers.schemas import OfferLineOut, QuoteLineOut, QuoteOut
from shared.errors import NotFound
from shared.pagination import Page, PageParams, paginate


def line_of(row: OfferLine) -> CatalogueLine:
    return CatalogueLine(
        code=row.code,
        label=row.label,
        kind=LineKind(row.kind),
        unit_price_cents=row.unit_price_cents,
        unit=Unit(row.unit),
        offers=tuple(row.offers),
        max_sites=row.max_sites,
        operator_only=row.operator_only,
        position=row.position,
    )


def line_out(line: CatalogueLine) -> OfferLineOut:
    return OfferLineOut(
        code=line.code,
        label=line.label,
        kind=line.kind,
        unit_price_cents=line.unit_price_cents,
        unit=line.unit,
        offers=list(line.offers),
        max_sites=line.max_sites,
        operator_only=line.operator_only,
        position=line.position,
    )


async def catalogues(
    session: AsyncSession, edition_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CatalogueLine]]:
    rows = await repo.catalogues(session, edition_ids)
    return {e: [line_of(r) for r in lines] for e, lines in rows.items()}


async def catalogue(session: AsyncSession, edition_id: uuid.UUID) -> list[CatalogueLine]:
    return (await catalogues(session, [edition_id]))[edition_id]


async def replace_catalogue(
    session: AsyncSession, edition_id: uuid.UUID, lines: Sequence[CatalogueLine]
) -> None:
    await repo.replace_catalogue(
        session,
        edition_id,
        [
            {
                "code": line.code,
                "label": line.label,
                "kind": line.kind.value,
                "unit_price_cents": line.unit_price_cents,
                "unit": line.unit.value,
                "offers": list(line.offers),
                "max_sites": line.max_sites,
                "operator_only": line.operator_only,
                "position": position,
            }
            for position, line in enumerate(lines)
        ],
    )


def quote_out(result: Quote) -> QuoteOut:
    return QuoteOut(
        lines=[
            QuoteLineOut(
                code=line.code,
                label=line.label,
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
                amount_cents=line.amount_cents,
            )
            for line in result.lines
        ],
        total_excl_vat_cents=result.total_excl_vat_cents,
        vat_rate=result.vat_rate,
        vat_cents=result.vat_cents,
        total_incl_vat_cents=result.total_incl_vat_cents,
    )


async def quote_of(
    session: AsyncSession,
    edition_id: uuid.UUID,
    vat_rate: Decimal,
    offer: str,
    options: Sequence[str],
    site_count: int,
) -> QuoteOut:
    lines = await catalogue(session, edition_id)
    return quote_out(quote(lines, offer, options, site_count, vat_rate))


async def list_catalogue(
    session: AsyncSession, edition_id: uuid.UUID, page: PageParams
) -> Page[OfferLineOut]:
    if await editions_repo.get_edition(session, edition_id) is None:
        raise NotFound(f"no edition {edition_id}")
    lines = await catalogue(session, edition_id)
    key = page.key(1)
    remaining = [line for line in lines if key is None or line.position > int(key[0])]
    chosen, cursor = paginate(remaining, page.limit, lambda line: (line.position,))
    return Page(items=[line_out(line) for line in chosen], next_cursor=cursor)
