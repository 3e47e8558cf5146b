"""HTTP routes of an edition's scoring settings (operator)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.scoring.editions import service
from services.scoring.editions.schemas import EditionSettingsIn, EditionSettingsOut
from shared.app import SessionDep
from shared.auth import Role, require

router = APIRouter(tags=["settings"], dependencies=[require(Role.OPERATOR)])


@router.get("/editions/{edition_id}/settings", response_model=EditionSettingsOut)
async def get_settings(edition_id: uuid.UUID, session: SessionDep) -> EditionSettingsOut:
    return await service.read(session, edition_id)


@router.put("/editions/{edition_id}/settings", response_model=EditionSettingsOut)
async def put_settings(
    edition_id: uuid.UUID, body: EditionSettingsIn, session: SessionDep
) -> EditionSettingsOut:
    """Performing threshold, channel weights, minimum response count of perceived quality.
    Figures change at the next re-score (`POST /editions/{id}/rescore`)."""
    return await service.write(session, edition_id, body)
