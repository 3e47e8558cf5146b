"""Services upgrade one at a time: a consumer that reads version N of an event also reads what
producers of N-1 still emit, and every published version stays readable."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

from barometer_cli.catalog import SERVICES
from shared.contracts import EVENT_PAYLOADS
from shared.events import new_event, parse_event

VERSIONED = re.compile(r"^(?P<family>.+)\.v(?P<version>\d+)$")


def families() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for subject in EVENT_PAYLOADS:
        match = VERSIONED.match(subject)
        assert match, f"{subject} is not <producer>.<entity>.<verb>.v<N>"
        found.setdefault(match["family"], []).append(int(match["version"]))
    return found


def test_versions_of_an_event_are_consecutive_from_1() -> None:
    for family, versions in families().items():
        assert sorted(versions) == list(range(1, max(versions) + 1)), family


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_a_consumer_of_version_n_reads_version_n_minus_1(spec: Any, make_settings: Any) -> None:
    app = importlib.import_module(f"{spec.module}.app").create_app(make_settings(spec.name))
    for consumer in app.state.runtime.consumers:
        for subject in EVENT_PAYLOADS:
            if not consumer._accepts(subject):
                continue
            match = VERSIONED.match(subject)
            assert match
            older = f"{match['family']}.v{int(match['version']) - 1}"
            if older in EVENT_PAYLOADS:
                assert consumer._accepts(older), (
                    f"{consumer.durable} reads {subject} but not {older}, which producers "
                    "not yet upgraded still emit"
                )


def test_every_registered_payload_round_trips_through_the_envelope() -> None:
    for subject, model in EVENT_PAYLOADS.items():
        schema = model.model_json_schema()
        assert schema.get("additionalProperties") is False, f"{subject} must refuse unknown fields"
        assert model.__name__.endswith(f"V{subject.rsplit('.v', 1)[1]}"), subject
    fields: dict[str, Any] = {
        "edition_id": "00000000-0000-0000-0000-000000000001",
        "year": 2026,
        "name": "x",
        "status": "draft",
    }
    sample = EVENT_PAYLOADS["registry.edition.created.v1"](**fields)
    envelope, payload = parse_event(new_event(sample, edition=None).model_dump_json().encode())
    assert envelope.subject == "registry.edition.created.v1"
    assert payload == sample
