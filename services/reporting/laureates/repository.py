"""Queries of the laureates: the edition's competitors with their figures."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.laureates.rules import Candidate
from services.reporting.models import Edition, Participant, StructureFigures


def _scores(figures: dict[str, dict[str, str | int]]) -> dict[str, Decimal]:
    return {k: Decimal(str(v["score"])) for k, v in figures.items()}


async def candidates(session: AsyncSession, edition_id: uuid.UUID) -> list[Candidate]:
    rows = await session.execute(
        select(Participant, StructureFigures)
        .join(
            StructureFigures,
            (StructureFigures.edition_id == Participant.edition_id)
            & (StructureFigures.structure_id == Participant.structure_id),
        )
        .where(Participant.edition_id == edition_id, Participant.withdrawn.is_(False))
    )
    found = []
    for participant, figures in rows:
        body = figures.figures
        rate = (figures.perceived or {}).get("participation_rate")
        found.append(
            Candidate(
                structure_id=str(participant.structure_id),
                name=participant.structure_name,
                stratum_code=figures.stratum_code,
                structure_type=figures.structure_type,
                competes=participant.competes_for_trophies,
                score=figures.score,
                audits=figures.audits,
                channel_audits={k: int(v["audits"]) for k, v in body["channels"].items()},
                channel_scores=_scores(body["channels"]),
                step_scores=_scores(body["journey_steps"]),
                criterion_scores=_scores(body["criteria"]),
                participation_rate=None if rate is None else Decimal(str(rate)),
            )
        )
    return found


async def publish(session: AsyncSession, edition_id: uuid.UUID, at: datetime) -> datetime | None:
    """Mark the laureates published (once); the publication time, None for no such edition."""
    await session.execute(
        update(Edition)
        .where(Edition.edition_id == edition_id, Edition.laureates_published_at.is_(None))
        .values(laureates_published_at=at, version=Edition.version + 1)
    )
    published: datetime | None = await session.scalar(
        select(Edition.laureates_published_at).where(Edition.edition_id == edition_id)
    )
    return published
