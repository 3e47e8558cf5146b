"""Two members of scoring's durable consumer applying batches at the same time: an audit parked
by one (its grid unknown yet) while the other stores that grid is scored all the same."""

from __future__ import annotations

import asyncio
import random
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.scoring.aggregates.rules import ScoringSettings
from services.scoring.aggregates.service import BatchOptions, ScoringApplication
from services.scoring.models import tables
from shared.outbox import Outbox
from tests.scoring.conftest import figures
from tests.scoring.factory import apply_like_the_base, audit, event, grid, structure
from tests.scoring.reference import from_scratch


async def test_an_audit_parked_while_another_member_stores_its_grid_is_scored(
    scoring_sessions: async_sessionmaker[AsyncSession],
) -> None:
    edition_id = uuid.uuid4()
    code = f"email-{edition_id.hex[:10]}"
    the_grid = event(grid(code, "email"))
    the_audit = event(audit(edition_id, structure(edition_id, 0), code, "email",
                            random.Random(3)), edition_id)  # fmt: skip
    app = ScoringApplication(Outbox(tables.outbox), BatchOptions(group_refresh_seconds=0))
    async with scoring_sessions() as first, first.begin():
        await app.apply_batch(first, [the_audit])  # parked: its grid is not known yet
        # The other member's batch brings the grid before this one commits.
        second = asyncio.create_task(apply_like_the_base(scoring_sessions, app, [the_grid]))
        await asyncio.sleep(0.5)
    await asyncio.wait_for(second, 30)
    structures, groups, _ = await figures(scoring_sessions, edition_id)
    expected_structures, expected_groups = from_scratch([the_grid, the_audit], ScoringSettings())
    assert structures == expected_structures
    assert groups == expected_groups
