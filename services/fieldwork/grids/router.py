"""HTTP routes of the grids domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from services.fieldwork.grids import service
from services.fieldwork.grids.schemas import GridOut, GridSummaryOut
from shared.app import SessionDep
from shared.auth import Role, require

router = APIRouter(tags=["grids"])
OperatorOrAuditor = require(Role.OPERATOR, Role.AUDITOR)


@router.get("/grids", response_model=list[GridSummaryOut], dependencies=[OperatorOrAuditor])
async def list_grids(session: SessionDep) -> list[GridSummaryOut]:
    return [
        GridSummaryOut(
            id=g.id,
            code=g.code,
            version=g.version,
            channel=g.channel,
            item_count=len(g.definition["items"]),
            published_at=g.published_at,
        )
        for g in await service.list_grids(session)
    ]


@router.get(
    "/grids/{code}/versions/{version}", response_model=GridOut, dependencies=[OperatorOrAuditor]
)
async def get_grid(
    code: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,60}$")],
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
) -> GridOut:
    grid = await service.get_grid(session, code, version)
    return GridOut(id=grid.id, **service.definition_of(grid).model_dump())
