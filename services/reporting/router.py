"""HTTP routes of the reporting service: a structure's confidential scorecard."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select

from services.reporting.models import Participant, ScoredAudit
from services.reporting.scorecard import AuditRow, build_scorecard
from shared.app import SessionDep
from shared.auth import Principal, current_principal, ensure_acts_for_structure
from shared.errors import NotFound

router = APIRouter(tags=["scorecards"])


class StratumOut(BaseModel):
    code: str
    label: str


class ComparisonOut(BaseModel):
    mean: Decimal | None
    structures: int


class ChannelOut(BaseModel):
    channel: str
    score: Decimal
    audits: int


class ScorecardOut(BaseModel):
    edition_id: uuid.UUID
    structure_id: uuid.UUID
    stratum: StratumOut | None
    score: Decimal | None
    audits: int
    channels: list[ChannelOut]
    stratum_comparison: ComparisonOut
    sample: ComparisonOut


@router.get(
    "/editions/{edition_id}/structures/{structure_id}/scorecard",
    response_model=ScorecardOut,
    summary="A structure's scores, its stratum's mean and the whole sample's mean",
)
async def get_scorecard(
    edition_id: uuid.UUID,
    structure_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, Depends(current_principal)],
) -> ScorecardOut:
    """Roles: operator, or structure (its own scorecard only)."""
    ensure_acts_for_structure(principal, structure_id)
    participant = await session.get(Participant, (edition_id, structure_id))
    audits = [
        AuditRow(str(row.structure_id), row.channel, row.score)
        for row in await session.execute(
            select(ScoredAudit.structure_id, ScoredAudit.channel, ScoredAudit.score).where(
                ScoredAudit.edition_id == edition_id
            )
        )
    ]
    if participant is None and not any(a.structure_id == str(structure_id) for a in audits):
        raise NotFound(f"structure {structure_id} has no results in edition {edition_id}")
    members: set[str] = set()
    if participant is not None:
        members = {
            str(s)
            for s in await session.scalars(
                select(Participant.structure_id).where(
                    Participant.edition_id == edition_id,
                    Participant.stratum_code == participant.stratum_code,
                )
            )
        }
    card = build_scorecard(str(structure_id), audits, members)
    return ScorecardOut(
        edition_id=edition_id,
        structure_id=structure_id,
        stratum=(
            StratumOut(code=participant.stratum_code, label=participant.stratum_label)
            if participant
            else None
        ),
        score=card.score,
        audits=card.audits,
        channels=[
            ChannelOut(channel=c.channel, score=c.score, audits=c.audits) for c in card.channels
        ],
        stratum_comparison=ComparisonOut(
            mean=card.stratum.mean, structures=card.stratum.structures
        ),
        sample=ComparisonOut(mean=card.sample.mean, structures=card.sample.structures),
    )
