"""HTTP routes of the offer catalogue (a registration's quote: `registrations/router.py`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from services.registry.offers import service
from services.registry.offers.schemas import OfferLineOut
from shared.app import SessionDep
from shared.auth import Principal, Role
from shared.auth import require as require_role
from shared.pagination import Page, PageDep

router = APIRouter(tags=["offers"])
Reader = Annotated[Principal, require_role(Role.OPERATOR, Role.STRUCTURE)]


@router.get("/editions/{edition_id}/offers", summary="The edition's offer catalogue")
async def list_offers(
    edition_id: uuid.UUID, session: SessionDep, page: PageDep, principal: Reader
) -> Page[OfferLineOut]:
    """Offers and options in catalogue order, prices in euro cents excl. VAT; structures read
    it to choose their offer."""
    return await service.list_catalogue(session, edition_id, page)
