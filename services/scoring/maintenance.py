"""Scoring's background work beside the consumer: refresh group statistics left dirty by
throttled batches (the idle flush), and advance running re-scores chunk by chunk. Several
processes may run it: each step holds the locks it needs."""

from __future__ import annotations

import asyncio
import logging

from services.scoring.aggregates import repository as repo
from services.scoring.aggregates.service import settle
from services.scoring.rescore import service as rescore
from services.scoring.settings import ScoringSettings
from shared.app import ServiceRuntime
from shared.consumer import raise_if_cancelling
from shared.db import transaction

log = logging.getLogger(__name__)


async def run_once(runtime: ServiceRuntime, settings: ScoringSettings) -> bool:
    """One round; returns whether a re-score is still running (to go on without waiting)."""
    async with transaction(runtime.session_factory) as session:
        dirty = await repo.dirty_editions(session)
    for generation, edition_id in dirty:
        async with transaction(runtime.session_factory) as session:
            await settle(runtime.outbox, session, generation, edition_id)
    async with transaction(runtime.session_factory) as session:
        running = await repo.running_rescores(session)
    busy = False
    for edition_id in running:
        async with transaction(runtime.session_factory) as session:
            busy = (
                await rescore.step(session, runtime.outbox, edition_id, settings.rescore_chunk_size)
                or busy
            )
    if dirty or running:
        runtime.outbox.notify()
    return busy


async def run(runtime: ServiceRuntime, settings: ScoringSettings) -> None:
    while True:
        busy = False
        try:
            busy = await run_once(runtime, settings)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise_if_cancelling()
            log.warning("scoring maintenance failed; will retry", extra={"error": repr(exc)})
        if not busy:
            await asyncio.sleep(settings.group_settle_seconds)
