"""`barometer nats setup` against a real NATS: every stream and durable of shared/topology.py
created, a second run changing nothing, a changed setting updated; services refuse to start on
a missing or different stream or consumer, naming it and the setting."""

from __future__ import annotations

from typing import Any

import nats
import pytest
from nats.js.api import ConsumerConfig
from pydantic import ValidationError

from barometer_cli.catalog import SERVICES
from barometer_cli.nats_setup import setup_topology
from services.fieldwork.app import create_app as create_fieldwork
from services.registry.app import create_app as create_registry
from shared.settings import ServiceSettings
from shared.topology import DURABLES, STREAM_SPECS, TopologyMismatch, durables_of
from tests.conftest import settings_for_tests
from tests.helpers import running


async def test_setup_twice_changes_nothing_the_second_time(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for spec in STREAM_SPECS:  # the fixture set them up: start from nothing
            await js.delete_stream(spec.name)
        first = await setup_topology(nats_url, settings_for_tests)
        assert {(c.kind, c.action) for c in first} == {
            ("stream", "created"),
            ("consumer", "created"),
        }
        assert len(first) == len(STREAM_SPECS) + len(DURABLES)
        second = await setup_topology(nats_url, settings_for_tests)
        assert [c.action for c in second] == ["unchanged"] * len(first)
        info = await js.stream_info("FIELDWORK")
        settings = settings_for_tests("fieldwork")
        assert info.config.duplicate_window == settings.duplicate_window_seconds
        assert info.config.max_age == settings.stream_max_age_seconds
        durable = await js.consumer_info("FIELDWORK", "scoring-fieldwork")
        assert durable.config.max_deliver == -1
        assert not durable.config.backoff  # the consumer's own nak delays rule
    finally:
        await nc.close()


async def test_a_changed_setting_is_updated_and_named(nats_url: str) -> None:
    def longer(name: str) -> ServiceSettings:
        return settings_for_tests(name).model_copy(
            update={"stream_max_age_seconds": 20 * 24 * 3600.0, "consumer_ack_wait_seconds": 45}
        )

    changes = {str(c.name): c for c in await setup_topology(nats_url, longer)}
    assert changes["REGISTRY"].action == "updated"
    assert any(d.startswith("max_age:") for d in changes["REGISTRY"].details)
    assert changes["REGISTRY/fieldwork-registry"].action == "updated"
    assert any(d.startswith("ack_wait:") for d in changes["REGISTRY/fieldwork-registry"].details)
    again = await setup_topology(nats_url, longer)
    assert {c.action for c in again} == {"unchanged"}


async def test_a_service_refuses_to_start_on_a_different_consumer(
    make_settings: Any, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.consumer_info("REGISTRY", "fieldwork-registry")
        changed: ConsumerConfig = info.config
        changed.ack_wait = 5.0
        await js.add_consumer("REGISTRY", changed)
        with pytest.raises(TopologyMismatch, match=r"REGISTRY/fieldwork-registry.*ack_wait"):
            async with running(create_fieldwork(make_settings("fieldwork"))):
                pass
        await js.delete_consumer("REGISTRY", "fieldwork-registry")
        with pytest.raises(TopologyMismatch, match="fieldwork-registry does not exist"):
            async with running(create_fieldwork(make_settings("fieldwork"))):
                pass
    finally:
        await nc.close()


async def test_a_producer_refuses_to_start_without_its_stream(
    make_settings: Any, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream("REGISTRY")
    finally:
        await nc.close()
    with pytest.raises(TopologyMismatch, match="stream REGISTRY does not exist"):
        async with running(create_registry(make_settings("registry"))):
            pass
    await setup_topology(nats_url, settings_for_tests)
    settings = make_settings("registry", stream_max_age_seconds=3 * 24 * 3600.0)
    with pytest.raises(TopologyMismatch, match=r"stream REGISTRY .*max_age"):
        async with running(create_registry(settings)):
            pass


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_each_service_consumes_what_the_topology_declares(spec: Any, make_settings: Any) -> None:
    """`runtime.consumer` refuses a durable the topology does not declare as it is wired."""
    import importlib

    app = importlib.import_module(f"{spec.module}.app").create_app(make_settings(spec.name))
    consumers = app.state.runtime.consumers
    assert sorted(c.durable for c in consumers) == sorted(d.durable for d in durables_of(spec.name))


def test_an_inbox_retention_within_the_redelivery_horizon_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"inbox_retention_seconds .* must exceed"):
        ServiceSettings(stream_max_age_seconds=86400.0, inbox_retention_seconds=86400.0)
    ok = ServiceSettings(stream_max_age_seconds=86400.0, inbox_retention_seconds=2 * 86400.0)
    assert ok.inbox_retention_seconds > ok.redelivery_horizon_seconds
