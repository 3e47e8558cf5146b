"""The NATS connection of a service (streams and consumers: `shared.topology`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

log = logging.getLogger(__name__)

# Asynchronous publications awaiting JetStream's ack on one connection (the relay's rounds).
PUBLISH_ASYNC_MAX_PENDING = 4000


class NatsUnavailable(RuntimeError):
    """The service has no NATS connection (yet, or at the moment)."""


class MessageBus:
    """One NATS connection per service process, reconnecting forever once established."""

    def __init__(self, url: str, *, name: str) -> None:
        self.url = url
        self.name = name
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._connected = asyncio.Event()

    async def connect(self) -> None:
        """Connect, retrying until NATS answers; afterwards nats-py reconnects by itself."""
        delay = 0.2
        while self._nc is None:
            try:
                self._nc = await nats.connect(
                    # One URL, or a comma-separated list of a cluster's nodes.
                    servers=[u.strip() for u in self.url.split(",") if u.strip()],
                    name=self.name,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
            except Exception as exc:
                log.warning("nats not reachable yet", extra={"url": self.url, "error": str(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self._connected.set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    @property
    def js(self) -> JetStreamContext:
        """One JetStream context per connection: `publish_async` keeps its reply
        subscription there, so a context per call would subscribe again every time."""
        if self._nc is None:
            raise NatsUnavailable("not connected to NATS")
        if self._js is None:
            self._js = self._nc.jetstream(
                timeout=5, publish_async_max_pending=PUBLISH_ASYNC_MAX_PENDING
            )
        return self._js

    async def flush(self) -> None:
        """Make sure what was written (acks, naks) reached the server; best effort, 2 s."""
        if self._nc is not None and self._nc.is_connected:
            with contextlib.suppress(Exception):
                await self._nc.flush(timeout=2)

    async def close(self) -> None:
        # Not drain(): the relay and consumers are stopped by now, and an unacked message is
        # simply redelivered to the next process, while drain could wait out a pending fetch.
        if self._nc is not None:
            await self._nc.close()
            self._nc = None
            self._js = None

    async def _on_error(self, exc: Exception) -> None:
        log.warning("nats error", extra={"error": str(exc)})

    async def _on_disconnected(self) -> None:
        log.warning("nats disconnected")

    async def _on_reconnected(self) -> None:
        log.info("nats reconnected")
