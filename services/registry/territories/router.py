"""HTTP routes of territories."""

from __future__ import annotations

from fastapi import APIRouter

from services.registry.territories import service
from services.registry.territories.schemas import CommuneOut
from shared.app import SessionDep
from shared.auth import Role
from shared.auth import require as require_role
from shared.errors import NotFound

router = APIRouter(tags=["territories"])

ANY_ROLE = require_role(*Role)


@router.get("/territories/communes/{code}", response_model=CommuneOut, dependencies=[ANY_ROLE])
async def get_commune(code: str, session: SessionDep) -> CommuneOut:
    place = await service.commune(session, code)
    if place is None or place.departement_code is None or place.region_code is None:
        raise NotFound(f"no current commune with INSEE code {code!r}")
    return CommuneOut(
        code=place.code,
        name=place.name,
        departement_code=place.departement_code,
        region_code=place.region_code,
        population=place.population,
    )
