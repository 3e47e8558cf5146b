"""HTTP routes of the scoring service (read side of audit scores, for the operator)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from services.scoring.models import AuditScore
from shared.app import SessionDep
from shared.auth import Role, require
from shared.errors import NotFound

router = APIRouter(tags=["scores"])


class AuditScoreOut(BaseModel):
    audit_id: uuid.UUID
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    site_id: uuid.UUID
    channel: str
    grid_code: str
    grid_version: int
    score: Decimal
    points_obtained: Decimal
    points_possible: Decimal
    scored_at: datetime


@router.get(
    "/editions/{edition_id}/audits/{audit_id}/score",
    response_model=AuditScoreOut,
    dependencies=[require(Role.OPERATOR)],
)
async def get_audit_score(
    edition_id: uuid.UUID, audit_id: uuid.UUID, session: SessionDep
) -> AuditScore:
    found = await session.scalar(
        select(AuditScore).where(
            AuditScore.edition_id == edition_id, AuditScore.audit_id == audit_id
        )
    )
    if found is None:
        raise NotFound(f"no score for audit {audit_id} in edition {edition_id} (yet)")
    return found


@router.get(
    "/editions/{edition_id}/structures/{structure_id}/audit-scores",
    response_model=list[AuditScoreOut],
    dependencies=[require(Role.OPERATOR)],
)
async def list_structure_audit_scores(
    edition_id: uuid.UUID, structure_id: uuid.UUID, session: SessionDep
) -> list[AuditScore]:
    rows = await session.scalars(
        select(AuditScore)
        .where(AuditScore.edition_id == edition_id, AuditScore.structure_id == structure_id)
        .order_by(AuditScore.channel, AuditScore.audit_id)
    )
    return list(rows)
