"""An edition's scoring settings: stored by scoring until the registry publishes them; a
change applies to the figures at the next re-score (each generation keeps its own)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.aggregates import repository as repo
from services.scoring.editions.rules import weight_problems
from services.scoring.editions.schemas import EditionSettingsIn, EditionSettingsOut
from shared.errors import Unprocessable


async def read(session: AsyncSession, edition_id: uuid.UUID) -> EditionSettingsOut:
    row = await repo.edition_settings(session, edition_id)
    states = await repo.edition_states(session, [edition_id])
    in_force = states[0].settings if states else None
    if row is None:
        return EditionSettingsOut(configured=False, in_force=in_force)
    return EditionSettingsOut(
        performing_threshold=row.performing_threshold,
        channel_weights={k: Decimal(v) for k, v in row.channel_weights.items()},
        min_voice_responses=row.min_voice_responses,
        configured=True,
        in_force=in_force,
    )


async def write(
    session: AsyncSession, edition_id: uuid.UUID, body: EditionSettingsIn
) -> EditionSettingsOut:
    problems = weight_problems(body.channel_weights)
    if problems:
        raise Unprocessable("; ".join(problems))
    await repo.save_edition_settings(
        session,
        {
            "edition_id": edition_id,
            "performing_threshold": body.performing_threshold,
            "channel_weights": {k: str(v) for k, v in body.channel_weights.items()},
            "min_voice_responses": body.min_voice_responses,
        },
    )
    return await read(session, edition_id)
