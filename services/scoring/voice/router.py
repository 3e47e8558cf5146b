"""HTTP routes of perceived quality (operator)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.scoring.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from services.scoring.voice import service
from services.scoring.voice.schemas import PerceivedOut
from shared.app import SessionDep
from shared.auth import Role, require

router = APIRouter(tags=["perceived quality"], dependencies=[require(Role.OPERATOR)])


@router.get("/editions/{edition_id}/perceived-quality", response_model=Page[PerceivedOut])
async def list_perceived_quality(
    edition_id: uuid.UUID,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[PerceivedOut]:
    """Per structure: citizen responses and satisfaction index /100, agents' index,
    consultations' participation rate; indices withheld below the minimum response count."""
    key = decode_cursor(cursor, 1)
    rows = await service.page(
        session, edition_id, after=uuid.UUID(key[0]) if key else None, limit=limit + 1
    )
    return Page(
        items=rows[:limit],
        next_cursor=encode_cursor([rows[limit - 1].structure_id]) if len(rows) > limit else None,
    )
