"""Rebuilds ranks and group statistics of editions whose figures changed, once per run of
updates: with 10,000 structures a rebuild takes seconds, so it must not follow every event.
Reads stay consistent meanwhile (they show the last rebuilt figures)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.reporting.readmodel import service
from shared.consumer import raise_if_cancelling
from shared.db import transaction

log = logging.getLogger(__name__)


async def refresh_loop(
    factory: async_sessionmaker[AsyncSession], *, idle_seconds: float = 0.3
) -> None:
    while True:
        try:
            async with transaction(factory) as session:
                refreshed = await service.refresh_stale(session)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise_if_cancelling()
            log.warning("refresh failed; retrying", extra={"error": repr(exc)})
            refreshed = None
        if refreshed is None:
            await asyncio.sleep(idle_seconds)
