"""The NATS connection of a service and the JetStream streams it relies on."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError

from shared.events import STREAMS

log = logging.getLogger(__name__)

# Long enough to cover a relay retrying after a lost ack; the consumers' inbox covers the rest.
DUPLICATE_WINDOW_SECONDS = 15 * 60


class NatsUnavailable(RuntimeError):
    """The service has no NATS connection (yet, or at the moment)."""


class MessageBus:
    """One NATS connection per service process, reconnecting forever once established."""

    def __init__(self, url: str, *, name: str) -> None:
        self.url = url
        self.name = name
        self._nc: NATS | None = None
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
        if self._nc is None:
            raise NatsUnavailable("not connected to NATS")
        return self._nc.jetstream(timeout=5)

    async def close(self) -> None:
        # Not drain(): the relay and consumers are stopped by now, and an unacked message is
        # simply redelivered to the next process, while drain could wait out a pending fetch.
        if self._nc is not None:
            await self._nc.close()
            self._nc = None

    async def _on_error(self, exc: Exception) -> None:
        log.warning("nats error", extra={"error": str(exc)})

    async def _on_disconnected(self) -> None:
        log.warning("nats disconnected")

    async def _on_reconnected(self) -> None:
        log.info("nats reconnected")


def stream_config(producer: str) -> StreamConfig:
    return StreamConfig(
        name=STREAMS[producer],
        subjects=[f"{producer}.>"],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )


async def ensure_stream(js: JetStreamContext, producer: str) -> None:
    """Create the producer's stream, or bring an existing one to the expected config."""
    config = stream_config(producer)
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
