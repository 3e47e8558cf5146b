"""HTTP: reporting's settings of an edition (operator): group minimum, performing threshold,
methodology version, trophy categories and mentions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.reporting.readmodel import service
from services.reporting.readmodel.rules import EditionSettings
from shared.app import SessionDep
from shared.auth import Role, require

router = APIRouter(tags=["editions"], dependencies=[require(Role.OPERATOR)])


@router.get("/editions/{edition_id}/reporting-settings", response_model=EditionSettings)
async def get_settings(edition_id: uuid.UUID, session: SessionDep) -> EditionSettings:
    return await service.edition_settings(session, edition_id)


@router.put("/editions/{edition_id}/reporting-settings", response_model=EditionSettings)
async def put_settings(
    edition_id: uuid.UUID, settings: EditionSettings, session: SessionDep
) -> EditionSettings:
    """Replace the settings; ranks, statistics and cached answers follow at once."""
    return await service.change_settings(session, edition_id, settings)
