"""Helpers shared by the tests: run an app with its lifespan, wait for events to flow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx
from fastapi import FastAPI

T = TypeVar("T")


@asynccontextmanager
async def running(app: FastAPI, *, with_nats: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (NATS, relay, consumers) running, and a client for it."""
    async with app.router.lifespan_context(app):
        if with_nats:
            await asyncio.wait_for(app.state.runtime.bus.wait_connected(), 30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def nats_setup(url: str) -> None:
    """`barometer nats setup` on a NATS server a test started itself (test settings)."""
    from barometer_cli.nats_setup import setup_topology
    from tests.conftest import settings_for_tests

    await setup_topology(url, settings_for_tests)


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = 30, interval: float = 0.1
) -> T:
    """Poll `probe` until it returns something truthy (events are asynchronous)."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {result!r})")
        await asyncio.sleep(interval)
