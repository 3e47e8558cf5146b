"""`barometer nats setup`: every stream and durable consumer of shared/topology.py, created or
brought to the settings of the service that owns it (a stream its producer's, a durable its
consumer's), idempotently: a second run changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats
from nats.js.errors import NotFoundError

from barometer_cli.catalog import SERVICES
from shared.settings import ServiceSettings
from shared.topology import DURABLES, STREAM_SPECS, Change, setup

SettingsOf = Callable[[str], ServiceSettings]


def settings_from_environment(name: str, **overrides: object) -> ServiceSettings:
    return next(s for s in SERVICES if s.name == name).settings(**overrides)


async def setup_topology(nats_url: str, settings_of: SettingsOf | None = None) -> list[Change]:
    """Apply the whole topology on the NATS at `nats_url` (a URL or a comma-separated list)."""
    of = settings_of or settings_from_environment
    nc = await nats.connect(servers=[u.strip() for u in nats_url.split(",") if u.strip()])
    try:
        return await setup(
            nc.jetstream(timeout=10),
            [(spec, of(spec.producer)) for spec in STREAM_SPECS],
            [(spec, of(spec.service)) for spec in DURABLES],
        )
    finally:
        await nc.close()


async def reset_topology(nats_url: str, settings_of: SettingsOf | None = None) -> list[Change]:
    """Every stream deleted (with its consumers and events), then the topology set up anew:
    the tests' and benchmarks' clean slate. Never for a deployment."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        try:
            streams = await js.streams_info()
        except NotFoundError:
            streams = []
        for info in streams:
            if info.config.name:
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()
    return await setup_topology(nats_url, settings_of)


def run_setup(nats_url: str, *, say: Callable[[str], None] = print) -> list[Change]:
    changes = asyncio.run(setup_topology(nats_url))
    for change in changes:
        say(str(change))
    return changes
