"""The delivery worker: claims due deliveries, POSTs them signed, records each attempt.

A round claims up to `concurrency` due deliveries in one short transaction (`FOR UPDATE SKIP
LOCKED`, each row leased for the call's timeout so no other worker takes it meanwhile), makes
the HTTP calls with no transaction open (at most `concurrency` at once, each bounded by
`timeout`), then records every outcome in a second short transaction: delivered; or failed,
due again after a growing delay, `failed` for good after `max_attempts`. A subscription whose
attempts fail `pause_after` times in a row is paused (a state the API shows, and a warning in
the log) until its partner resumes it. Several workers (one per registry replica) share the
work without sending a delivery twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.settings import RegistrySettings
from services.registry.webhooks import repository as repo
from services.registry.webhooks.rules import (
    AttemptOutcome,
    gives_up,
    outcome_of,
    pauses,
    retry_delay,
    signed_headers,
)
from shared.db import connection_lost, transaction

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

USER_AGENT = "Barometre-Webhooks/1"


@dataclass(frozen=True)
class _Claimed:
    id: uuid.UUID
    subscription_id: uuid.UUID
    client_id: str
    event_type: str
    body: str
    attempts: int
    target_url: str
    secret: str


class DeliveryWorker:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: RegistrySettings,
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        # Imported here: httpx brings its CLI's libraries along, and the registry starts faster
        # without them (the worker needs it only once running).
        import httpx

        s = self._settings
        timeout = httpx.Timeout(s.webhook_timeout_seconds)
        async with httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        ) as client:
            while not self._stopping.is_set():
                try:
                    busy = await self.round(client)
                except Exception as exc:  # the loop outlives a lost database or a bug
                    if connection_lost(exc):
                        log.warning("webhook round skipped: database unreachable")
                    else:
                        log.exception("webhook round failed")
                    busy = False
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), s.webhook_poll_seconds)

    async def round(self, client: httpx.AsyncClient) -> bool:
        """One claim-send-record round; True when it found a full batch (more may be due)."""
        s = self._settings
        claimed = await self._claim()
        if not claimed:
            return False
        limit = asyncio.Semaphore(s.webhook_concurrency)

        async def send(delivery: _Claimed) -> tuple[_Claimed, AttemptOutcome, datetime]:
            async with limit:
                return delivery, await self._post(client, delivery), datetime.now(UTC)

        outcomes = await asyncio.gather(*(send(d) for d in claimed))
        await self._record(outcomes)
        return len(claimed) >= s.webhook_concurrency

    async def _claim(self) -> list[_Claimed]:
        s = self._settings
        # The lease outlasts the call (its timeout) and the recording that follows.
        lease = timedelta(seconds=s.webhook_timeout_seconds + 30)
        async with transaction(self._sessions) as session:
            await repo.drop_withdrawn(session)
            rows = await repo.claim_due(session, limit=s.webhook_concurrency, lease=lease)
            return [
                _Claimed(
                    id=d.id,
                    subscription_id=d.subscription_id,
                    client_id=d.client_id,
                    event_type=d.event_type,
                    body=d.body,
                    attempts=d.attempts,
                    target_url=url,
                    secret=secret,
                )
                for d, url, secret in rows
            ]

    async def _post(self, client: httpx.AsyncClient, d: _Claimed) -> AttemptOutcome:
        import httpx

        timestamp = int(time.time())
        headers = signed_headers(d.id, d.event_type, d.secret, timestamp, d.body)
        try:
            response = await client.post(d.target_url, content=d.body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            return outcome_of(None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)
        return outcome_of(response.status_code, None)

    async def _record(self, outcomes: list[tuple[_Claimed, AttemptOutcome, datetime]]) -> None:
        s = self._settings
        paused: list[tuple[_Claimed, int]] = []
        async with transaction(self._sessions) as session:
            for d, outcome, at in outcomes:
                if outcome.ok:
                    assert outcome.status_code is not None
                    await repo.record_success(session, d.id, outcome.status_code, at)
                    continue
                attempts = d.attempts + 1
                next_at = (
                    None
                    if gives_up(attempts, s.webhook_max_attempts)
                    else at
                    + timedelta(
                        seconds=retry_delay(
                            attempts, s.webhook_retry_base_seconds, s.webhook_retry_max_seconds
                        )
                    )
                )
                streak = await repo.record_failure(
                    session,
                    d.id,
                    status_code=outcome.status_code,
                    error=outcome.error or "failed",
                    at=at,
                    next_attempt_at=next_at,
                )
                if streak is not None and pauses(streak[1], s.webhook_pause_after):
                    reason = f"{streak[1]} failed attempts in a row; last: {outcome.error}"
                    if await repo.pause(session, d.subscription_id, reason, at):
                        paused.append((d, streak[1]))
        for d, failures in paused:
            log.warning(
                "webhook subscription paused",
                extra={
                    "subscription_id": str(d.subscription_id),
                    "client_id": d.client_id,
                    "failures": failures,
                    "target_url": d.target_url,
                },
            )
