"""Incremental aggregates equal a from-scratch computation, whatever the order of events,
with duplicates, redeliveries and re-validations; a re-score of unchanged data is identical."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from services.scoring.aggregates.rules import ScoringSettings
from services.scoring.aggregates.service import BatchOptions, ScoringApplication
from services.scoring.models import tables
from services.scoring.rescore import service as rescore
from shared.contracts.scoring import GroupFiguresV1, ScoresUpdatedV1, StructureFiguresV1
from shared.db import create_engine, create_session_factory
from shared.events import parse_event
from shared.outbox import Outbox
from tests.conftest import SettingsFactory
from tests.scoring.conftest import figures
from tests.scoring.factory import (
    CHANNELS,
    Event,
    apply_like_the_base,
    audit,
    event,
    grid,
    structure,
)
from tests.scoring.reference import from_scratch

Scenario = dict[str, Any]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    return {
        "seed": draw(st.integers(0, 2**32)),
        "audits": draw(st.integers(1, 14)),
        "structures": draw(st.integers(1, 5)),
        "revisions": draw(st.lists(st.integers(1, 3), min_size=14, max_size=14)),
        "duplicates": draw(st.integers(0, 6)),
        "batch_sizes": draw(st.lists(st.integers(1, 7), min_size=1, max_size=6)),
    }


def build_events(scenario: Scenario, edition_id: uuid.UUID) -> list[Event]:
    rng = random.Random(scenario["seed"])
    codes = {c: f"{c}-{edition_id.hex[:12]}" for c in CHANNELS}
    events: list[Event] = [event(grid(codes[c], c)) for c in CHANNELS]
    structures = [structure(edition_id, i) for i in range(scenario["structures"])]
    for n in range(scenario["audits"]):
        s = rng.choice(structures)
        channel = rng.choice(CHANNELS)
        audit_id = uuid.uuid5(edition_id, str(rng.getrandbits(64)))
        site = rng.randint(0, 1)
        for revision in range(1, scenario["revisions"][n] + 1):
            payload = audit(edition_id, s, codes[channel], channel, rng,
                            audit_id=audit_id, revision=revision, site=site)  # fmt: skip
            events.append(event(payload, edition_id))
    for _ in range(scenario["duplicates"]):  # redeliveries: the same event again
        events.append(rng.choice(events))
    rng.shuffle(events)
    return events


def batches(events: list[Event], sizes: list[int]) -> list[list[Event]]:
    out, start, i = [], 0, 0
    while start < len(events):
        size = sizes[i % len(sizes)]
        out.append(events[start : start + size])
        start += size
        i += 1
    return out


async def run_scenario(database_url_settings: Any, scenario: Scenario) -> None:
    engine = create_engine(database_url_settings)
    sessions = create_session_factory(engine)
    try:
        edition_id = uuid.uuid4()
        events = build_events(scenario, edition_id)
        app = ScoringApplication(Outbox(tables.outbox), BatchOptions(group_refresh_seconds=0))
        for batch in batches(events, scenario["batch_sizes"]):
            await apply_like_the_base(sessions, app, batch)
        structures, groups, generation = await figures(sessions, edition_id)
        expected_structures, expected_groups = from_scratch(events, ScoringSettings())
        assert structures == expected_structures
        assert groups == expected_groups

        # A re-score of the unchanged edition: a new generation, identical to the digit.
        async with sessions() as session, session.begin():
            await rescore.start(session, edition_id)
        running = True
        while running:
            async with sessions() as session, session.begin():
                running = await rescore.step(session, app.outbox, edition_id, chunk=4)
        again, again_groups, new_generation = await figures(sessions, edition_id)
        assert new_generation == generation + 1
        assert again == structures
        assert again_groups == groups
    finally:
        await engine.dispose()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_incremental_aggregates_equal_from_scratch_and_rescore(
    make_settings: SettingsFactory, scenario: Scenario
) -> None:
    asyncio.run(run_scenario(make_settings("scoring"), scenario))


async def test_announced_figures_read_as_the_contract_and_equal_the_stored_ones(
    make_settings: SettingsFactory,
) -> None:
    """`scores.updated` payloads are built in their JSON form (no model on the hot path): each
    reads back as the contract, and the last figures announced for a structure or a group
    are the stored ones."""
    engine = create_engine(make_settings("scoring"))
    sessions = create_session_factory(engine)
    try:
        edition_id = uuid.uuid4()
        scenario: Scenario = {"seed": 7, "audits": 14, "structures": 4, "revisions": [2] * 14,
                              "duplicates": 3, "batch_sizes": [5, 3]}  # fmt: skip
        app = ScoringApplication(Outbox(tables.outbox), BatchOptions(group_refresh_seconds=0))
        for batch in batches(build_events(scenario, edition_id), scenario["batch_sizes"]):
            await apply_like_the_base(sessions, app, batch)
        structures, groups, generation = await figures(sessions, edition_id)
        async with sessions() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT envelope::text FROM outbox WHERE subject = :s "
                        "AND envelope->>'edition' = :e ORDER BY id"
                    ),
                    {"s": "scoring.scores.updated.v1", "e": str(edition_id)},
                )
            ).scalars()
            announced = [parse_event(row.encode()) for row in rows]
            result = await session.execute(
                text(
                    "SELECT structure_id, version FROM structure_scores "
                    "WHERE edition_id = :e AND generation = :g"
                ),
                {"e": edition_id, "g": generation},
            )
            versions: dict[uuid.UUID, int] = {row[0]: row[1] for row in result.all()}
    finally:
        await engine.dispose()
    last_structures: dict[uuid.UUID, StructureFiguresV1] = {}
    last_groups: dict[tuple[str, str], GroupFiguresV1] = {}
    for envelope, payload in announced:
        assert isinstance(payload, ScoresUpdatedV1)
        assert envelope.edition == edition_id
        assert payload.generation == generation
        last_structures.update({s.structure_id: s for s in payload.structures})
        last_groups.update({(g.kind, g.key): g for g in payload.groups})
    assert set(last_structures) == set(structures)
    for structure_id, stored in structures.items():
        f = stored["figures"]
        assert last_structures[structure_id] == StructureFiguresV1.model_validate(
            {"structure_id": structure_id, "stratum_code": stored["stratum_code"],
             "structure_type": stored["structure_type"], "certified": stored["certified"],
             "audits": stored["audits"], "score": stored["score"],
             "version": versions[structure_id], "channels": f["channels"],
             "sites": f["sites"], "criteria": f["criterion"],
             "journey_steps": f["journey_step"], "items": f["item"]}
        )  # fmt: skip
    assert set(last_groups) == set(groups)
    for key, stored_group in groups.items():
        assert last_groups[key] == GroupFiguresV1.model_validate(
            {"kind": key[0], "key": key[1], **stored_group}
        )
