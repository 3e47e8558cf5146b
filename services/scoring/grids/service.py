"""Scoring's copies of published grids (read side)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.aggregates import repository as repo
from services.scoring.grids.schemas import GridOut
from services.scoring.pagination import Page, decode_cursor, encode_cursor
from shared.errors import Unprocessable


async def page(session: AsyncSession, *, cursor: str | None, limit: int) -> Page[GridOut]:
    key = decode_cursor(cursor, 2)
    after = None
    if key is not None:
        if not key[1].isdigit():
            raise Unprocessable("the cursor is not one this API returned")
        after = (key[0], int(key[1]))
    rows = await repo.list_grids(session, after=after, limit=limit + 1)
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(
        items=[GridOut.model_validate(r, from_attributes=True) for r in rows[:limit]],
        next_cursor=encode_cursor([last.code, last.version]) if last else None,
    )
