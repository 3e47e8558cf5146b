"""HTTP routes of dead letters (operator): list, replay one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.scoring.consumers import application
from services.scoring.deadletters import service
from services.scoring.deadletters.schemas import DeadLetterOut
from services.scoring.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from shared.app import RuntimeDep, SessionDep
from shared.auth import Role, require

router = APIRouter(tags=["dead letters"], dependencies=[require(Role.OPERATOR)])


@router.get("/dead-letters", response_model=Page[DeadLetterOut])
async def list_dead_letters(
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[DeadLetterOut]:
    """Events the consumer could not apply, with why, oldest first."""
    return await service.page(session, cursor=cursor, limit=limit)


@router.post("/dead-letters/{dead_letter_id}/replay", response_model=DeadLetterOut)
async def replay_dead_letter(
    dead_letter_id: int, session: SessionDep, runtime: RuntimeDep
) -> DeadLetterOut:
    """Apply the dead letter's event now (e.g. after a fix), once; 422 if it still fails."""
    return await service.replay(session, application(runtime), dead_letter_id)
