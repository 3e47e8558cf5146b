"""Fixtures for the shared building blocks, exercised on the scoring schema's messaging tables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.scoring.models import tables as scoring_tables
from shared.db import create_engine, create_session_factory
from shared.messaging import MessageBus
from shared.tables import MessagingTables
from tests.conftest import SettingsFactory


@dataclass
class Plumbing:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: MessageBus
    tables: MessagingTables


@pytest.fixture
async def plumbing(make_settings: SettingsFactory) -> AsyncIterator[Plumbing]:
    settings = make_settings("scoring")
    engine = create_engine(settings)
    bus = MessageBus(settings.nats_url, name="test")
    await bus.connect()
    try:
        yield Plumbing(engine, create_session_factory(engine), bus, scoring_tables)
    finally:
        await bus.close()
        await engine.dispose()
