"""End to end over HTTP, four real service processes: edition → structure → registration →
audit plan → submitted and validated audits → scores → scorecard; and NATS killed (SIGKILL) in
the middle of validations, from which the system recovers by itself."""

from __future__ import annotations

import asyncio
import random
import uuid
from decimal import Decimal
from functools import partial
from typing import Any

from tests.e2e.api import Api, Headers, all_yes, new_edition, random_answers
from tests.e2e.checks import assert_figures_from_scratch, fieldwork_events, until_settled
from tests.e2e.conftest import System
from tests.helpers import eventually


async def test_the_slice_through_the_four_services(system: System, token: Headers) -> None:
    api = Api(system, token)
    edition_id = await new_edition(api, 2026)
    nantes = await api.register(edition_id, "Mairie de Nantes", "44109")
    rennes = await api.register(edition_id, "Mairie de Rennes", "35238")
    pornic = await api.register(edition_id, "Mairie de Pornic", "44131")
    assert nantes["stratum"]["code"] == rennes["stratum"]["code"] == "cities-50k-plus"
    assert pornic["stratum"]["code"] == "cities-under-20k"

    plans = {}
    for structure in (nantes, rennes, pornic):
        plans[structure["id"]] = await eventually(partial(api.tasks, edition_id, structure["id"]))
        assert len(plans[structure["id"]]) == 13  # 4 e-mails, 4 calls, 1 machine, 3 letters, 1 site

    auditor = await api.auditor("A1")
    by_channel = {t["channel"]: t for t in plans[nantes["id"]]}
    await api.audit(by_channel["phone"]["id"], auditor["id"], all_yes, quality=1.0)
    await api.audit(by_channel["email"]["id"], auditor["id"], random_answers(random.Random(1)))
    await api.audit(plans[rennes["id"]][0]["id"], auditor["id"], random_answers(random.Random(2)))
    await api.audit(plans[pornic["id"]][0]["id"], auditor["id"], random_answers(random.Random(3)))

    card = await eventually(lambda: _with_audits(api.scorecard(edition_id, nantes["id"]), 2))
    scores = await api.call(
        "GET", "scoring", f"/v1/editions/{edition_id}/structures/{nantes['id']}/audit-scores"
    )
    by_channel_score = {s["channel"]: Decimal(s["score"]) for s in scores}
    assert by_channel_score["phone"] == Decimal("100.00")
    expected = (by_channel_score["phone"] + by_channel_score["email"]) / 2
    overall = card["overall"]
    assert Decimal(str(overall["score"])) == expected.quantize(Decimal("0.01"))
    # Two audits: a 95% interval around the score, from scoring's sums of squares.
    interval = overall["confidence_interval_95"]
    assert interval["withheld"] is False
    assert interval["low"] <= overall["score"] <= interval["high"]
    # Two structures in the stratum, three in the sample: both under the minimum group size,
    # withheld with a reason, so no one can deduce another's score.
    assert overall["stratum"]["withheld"] is True
    assert overall["stratum"]["reason"]
    assert overall["sample"]["withheld"] is True

    # Confidentiality: the edition has no results dispatch date yet, so a structure reads
    # nothing (404, as for another structure's data: existence does not leak).
    base = f"{system.urls['reporting']}/v1/editions/{edition_id}/structures"
    as_nantes = token("structure", subject=nantes["id"])
    for structure_id in (nantes["id"], rennes["id"]):
        refused = await api.http.get(f"{base}/{structure_id}/scorecard", headers=as_nantes)
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"


async def _with_audits(pending: Any, audits: int) -> dict[str, Any] | None:
    card: dict[str, Any] | None = await pending
    if card and card["overall"] and card["overall"]["audits"] == audits:
        return card
    return None


async def test_nats_killed_during_validations_loses_and_duplicates_nothing(
    system: System, token: Headers, database_url: str
) -> None:
    api = Api(system, token)
    edition_id = await new_edition(api, 2027)
    structure = await api.register(edition_id, "Mairie d'Angers", "49007")
    tasks = await eventually(lambda: api.tasks(edition_id, structure["id"]))
    # Never one auditor twice on one site and channel: 4 auditors for the 4 e-mails and calls.
    auditors = [await api.auditor(f"A{n}") for n in range(2, 6)]
    rng = random.Random(7)

    validated: list[str] = []

    async def validate_all() -> None:
        for task in tasks:
            auditor = auditors[task["sequence"] - 1]
            await api.audit(task["id"], auditor["id"], random_answers(rng))
            validated.append(task["id"])
            await asyncio.sleep(0.15)

    validating = asyncio.create_task(validate_all())
    await eventually(lambda: _at_least(validated, 3))  # a few audits go through normally
    # SIGKILL while scoring consumes: what JetStream acknowledged is on disk (synced on every
    # message); what it did not is still in the outbox.
    system.nats.crash()
    before_outage = len(validated)
    await asyncio.sleep(1.5)  # validations keep being accepted: their events wait in the outbox
    during_outage = len(validated) - before_outage
    system.nats.start()  # same port, same JetStream store
    await validating
    assert during_outage > 0
    assert len(validated) == len(tasks) == 13

    card = await eventually(
        lambda: _with_audits(api.scorecard(edition_id, structure["id"]), len(tasks)),
        within=60,
    )
    scores = await api.call(
        "GET", "scoring", f"/v1/editions/{edition_id}/structures/{structure['id']}/audit-scores"
    )
    assert sorted(s["audit_id"] for s in scores) == sorted(t["id"] for t in tasks)
    # A structure's score is the mean of its channel scores over the channels audited.
    by_channel: dict[str, list[Decimal]] = {}
    for s in scores:
        by_channel.setdefault(s["channel"], []).append(Decimal(s["score_exact"]))
    channel_means = [sum(v, Decimal(0)) / len(v) for v in by_channel.values()]
    mean = sum(channel_means, Decimal(0)) / len(channel_means)
    assert abs(Decimal(str(card["overall"]["score"])) - mean) <= Decimal("0.005")
    for name in system.urls:  # every service is ready again, none was restarted
        assert system.processes[name].poll() is None
        ready = await api.http.get(f"{system.urls[name]}/health/ready")
        assert ready.status_code == 200
    # Every figure of scoring and reporting equals the one computed from scratch from what
    # fieldwork validated: nothing lost, nothing counted twice.
    events = await fieldwork_events(database_url)
    await until_settled(database_url, events)
    await assert_figures_from_scratch(database_url, uuid.UUID(edition_id), events)


async def _at_least(items: list[str], count: int) -> bool:
    return len(items) >= count
