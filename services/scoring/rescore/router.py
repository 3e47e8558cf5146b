"""HTTP routes of re-scoring (operator): trigger, progress."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.scoring.rescore import service
from services.scoring.rescore.schemas import RescoreOut
from shared.app import SessionDep
from shared.auth import Role, require

router = APIRouter(tags=["rescore"], dependencies=[require(Role.OPERATOR)])


@router.post("/editions/{edition_id}/rescore", response_model=RescoreOut, status_code=202)
async def trigger_rescore(edition_id: uuid.UUID, session: SessionDep) -> RescoreOut:
    """Replay the edition's stored audits into a fresh generation with the current settings;
    it is swapped in when complete (409 if one is already running)."""
    return RescoreOut.model_validate(service.as_progress(await service.start(session, edition_id)))


@router.get("/editions/{edition_id}/rescore", response_model=RescoreOut)
async def rescore_progress(edition_id: uuid.UUID, session: SessionDep) -> RescoreOut:
    return RescoreOut.model_validate(
        service.as_progress(await service.progress(session, edition_id))
    )
