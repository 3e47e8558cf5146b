"""Fixtures of scoring's tests: the scoring schema of a fresh database, and its figures."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import create_engine, create_session_factory
from tests.conftest import SettingsFactory


@pytest.fixture
async def scoring_sessions(
    make_settings: SettingsFactory,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine: AsyncEngine = create_engine(make_settings("scoring"))
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def figures(
    sessions: async_sessionmaker[AsyncSession], edition_id: uuid.UUID
) -> tuple[dict[uuid.UUID, dict[str, Any]], dict[tuple[str, str], dict[str, Any]], int]:
    """The edition's current structures and groups, as readers see them, and its generation."""
    async with sessions() as session:
        generation = await session.scalar(
            text("SELECT generation FROM edition_state WHERE edition_id = :e"), {"e": edition_id}
        )
        structures = {
            r.structure_id: {
                "stratum_code": r.stratum_code,
                "structure_type": r.structure_type,
                "certified": r.certified,
                "audits": r.audits,
                "score": r.score,
                "figures": r.figures,
            }
            for r in await session.execute(
                text("SELECT * FROM structure_scores WHERE edition_id = :e AND generation = :g"),
                {"e": edition_id, "g": generation},
            )
        }
        groups = {
            (r.kind, r.key): r.figures
            for r in await session.execute(
                text(
                    "SELECT * FROM group_stats WHERE edition_id = :e AND generation = :g "
                    "AND structures + audits > 0 OR (edition_id = :e AND generation = :g "
                    "AND figures <> '{}'::jsonb)"
                ),
                {"e": edition_id, "g": generation},
            )
        }
        dirty = await session.scalar(
            text("SELECT count(*) FROM group_stats WHERE edition_id = :e AND dirty"),
            {"e": edition_id},
        )
        assert dirty == 0, "every touched group is refreshed"
    return structures, groups, int(generation or 0)
