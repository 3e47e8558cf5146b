"""HTTP routes of grids as scoring holds them (operator)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.scoring.grids import service
from services.scoring.grids.schemas import GridOut
from services.scoring.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from shared.app import SessionDep
from shared.auth import Role, require

router = APIRouter(tags=["grids"], dependencies=[require(Role.OPERATOR)])


@router.get("/grids", response_model=Page[GridOut])
async def list_grids(
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[GridOut]:
    """Grids received (published v1 grids, and `v1:`-prefixed inline grids of v1 audits)."""
    return await service.page(session, cursor=cursor, limit=limit)
