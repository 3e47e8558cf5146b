"""Reporting against a real PostgreSQL and NATS: a generated edition of 303 structures in five
strata, published as events; figures checked against an independent computation."""

from __future__ import annotations

import io
import math
import random
import statistics
import uuid
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import nats
import pytest
from openpyxl import load_workbook

from services.reporting.app import create_app
from tests.helpers import eventually, running
from tests.reporting.edition import (
    CHANNELS,
    Structure,
    generate,
    opt_in,
    publish_edition,
    set_status,
)

YESTERDAY = date.today() - timedelta(days=2)
TOMORROW = date.today() + timedelta(days=2)


def shown(value: Decimal, places: str = "0.01") -> float:
    return float(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def url(edition_id: uuid.UUID, structure_id: uuid.UUID, what: str = "scorecard") -> str:
    return f"/v1/editions/{edition_id}/structures/{structure_id}/{what}"


@pytest.fixture
async def world(make_settings: Any, token: Any, nats_url: str) -> Any:
    rng = random.Random(20)
    structures = generate(rng)
    previous = [s for s in generate(random.Random(19)) if s.stratum != "departements"]
    # the previous edition saw the first 100 structures of this one (same ids)
    for old, new in zip(previous, structures[:100], strict=False):
        old.structure_id, old.stratum = new.structure_id, new.stratum
    editions = {"current": uuid.uuid4(), "previous": uuid.uuid4(), "embargoed": uuid.uuid4()}
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    app = create_app(make_settings("reporting"))
    async with running(app) as client:
        await publish_edition(js, editions["previous"], 2025, previous, dispatch_on=YESTERDAY,
                              status="published")  # fmt: skip
        await publish_edition(js, editions["current"], 2026, structures, dispatch_on=YESTERDAY)
        await publish_edition(
            js, editions["embargoed"], 2027, structures[:10], dispatch_on=TOMORROW
        )
        operator = token("operator")

        async def loaded() -> bool:
            for edition, count in (
                (editions["current"], len(structures)),
                (editions["embargoed"], 10),
            ):
                r = await client.get(f"/v1/editions/{edition}/barometer", headers=operator)
                overall = r.json()["sample"]["overall"] if r.status_code == 200 else None
                if (overall or {}).get("structures") != count:
                    return False
            r = await client.get(f"/v1/editions/{editions['current']}/barometer", headers=operator)
            return len(r.json()["evolution"]) == 2 and r.json()["edition"]["status"] == "scoring"

        await eventually(loaded, within=90, interval=0.3)
        yield client, js, editions, structures, operator
    await nc.close()


def independent(scores: list[Decimal], own: Decimal) -> dict[str, Any]:
    n = len(scores)
    q1, median, q3 = statistics.quantiles(scores, n=4, method="inclusive")
    below, equal = sum(1 for s in scores if s < own), sum(1 for s in scores if s == own)
    return {
        "structures": n,
        "mean": shown(sum(scores, Decimal(0)) / n),
        "median": shown(Decimal(statistics.median(scores))),
        "rank": 1 + sum(1 for s in scores if s > own),
        "percentile_rank": shown(Decimal(100) * (below + Decimal(equal) / 2) / n, "0.1"),
        "quartile": 4 if own >= q3 else 3 if own >= median else 2 if own >= q1 else 1,
        "gap_to_mean": shown(own - (sum(scores, Decimal(0)) / n).quantize(Decimal("1E-10"))),
    }


async def test_scorecard_comparisons_match_an_independent_computation(world: Any) -> None:
    client, _, editions, structures, operator = world
    sample = [s.score for s in structures]
    checked = 0
    for s in structures[::29]:
        r = await client.get(url(editions["current"], s.structure_id), headers=operator)
        assert r.status_code == 200, r.text
        card = r.json()
        overall = card["overall"]
        assert overall["score"] == shown(s.score)
        assert overall["audits"] == s.audits
        mine = [x.score for x in structures if x.stratum == s.stratum]
        expected_sample = independent(sample, s.score)
        for field in ("mean", "median", "rank", "percentile_rank", "gap_to_mean"):
            assert overall["sample"][field] == expected_sample[field], field
        if s.stratum == "departements":
            assert overall["stratum"] == {
                "withheld": True, "reason": "fewer than 5 structures in this group"
            }  # fmt: skip
        else:
            expected = independent(mine, s.score)
            for field, value in expected.items():
                assert overall["stratum"][field] == value, field
        # per channel: the same comparisons over the channel's scores
        email = next(c for c in card["channels"] if c["key"] == "email")
        assert email["score"] == shown(s.channel_mean("email"))
        channel_sample = independent([x.channel_mean("email") for x in structures],
                                     s.channel_mean("email"))  # fmt: skip
        assert email["sample"]["median"] == channel_sample["median"]
        assert email["sample"]["rank"] == channel_sample["rank"]
        # 95% t-interval on the structure's audit scores
        every = [x for scores in s.audit_scores.values() for x in scores]
        ci = overall["confidence_interval_95"]
        n = len(every)
        sd = statistics.stdev([float(x) for x in every])
        t = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
             9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131}[n - 1]  # fmt: skip
        half = t * sd / math.sqrt(n)
        assert ci["low"] == pytest.approx(max(0.0, float(s.score) - half), abs=0.011)
        assert ci["high"] == pytest.approx(min(100.0, float(s.score) + half), abs=0.011)
        assert {c["key"] for c in card["channels"]} == set(CHANNELS)
        assert {c["key"] for c in card["criteria"]} == {"courtesy", "reactivity", "answer_quality"}
        assert len(card["items"]) == 4
        assert len(card["journey_steps"]) == 3
        checked += 1
    assert checked >= 10


async def test_change_since_the_previous_edition_and_when_it_is_not_comparable(world: Any) -> None:
    client, _js, editions, structures, operator = world
    s = structures[0]
    card = (await client.get(url(editions["current"], s.structure_id), headers=operator)).json()
    change = card["overall"]["change"]
    assert change["comparable"] is True
    assert change["previous_year"] == 2025
    assert change["change"] == pytest.approx(
        card["overall"]["score"] - change["previous_score"], abs=0.011
    )
    newcomer = structures[200]
    card = (
        await client.get(url(editions["current"], newcomer.structure_id), headers=operator)
    ).json()
    assert card["overall"]["change"] is None
    # the 2027 edition audits with version 2 grids: its change from 2026 is not comparable
    later = (await client.get(url(editions["embargoed"], s.structure_id), headers=operator)).json()
    assert later["overall"]["change"] is None or later["overall"]["change"]["previous_year"] == 2026


async def test_access_embargo_and_caching(world: Any, token: Any) -> None:
    client, js, editions, structures, _ = world
    own, other = structures[0], structures[1]
    me = token("structure", subject=str(own.structure_id))
    r = await client.get(url(editions["current"], own.structure_id), headers=me)
    assert r.status_code == 200
    assert r.headers["cache-control"].startswith("private")
    etag = r.headers["etag"]
    again = await client.get(
        url(editions["current"], own.structure_id), headers={**me, "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    # another structure's data, an unknown structure, the embargo: all 404, none 403
    for target in (
        url(editions["current"], other.structure_id),
        url(editions["current"], uuid.uuid4()),
        url(editions["embargoed"], own.structure_id),
        url(editions["current"], other.structure_id, "report"),
    ):
        r = await client.get(target, headers=me)
        assert r.status_code == 404, target
        assert r.headers["content-type"] == "application/problem+json"
    assert (await client.get(url(editions["current"], own.structure_id))).status_code == 401
    partner = token("partner", subject="frontend", scopes=["results:read"])
    # Without the structure's opt-in: 404, as for any structure it may not see.
    assert (
        await client.get(url(editions["current"], other.structure_id), headers=partner)
    ).status_code == 404
    await opt_in(js, other.structure_id, "frontend")

    async def opened() -> bool:
        r: httpx.Response = await client.get(
            url(editions["current"], other.structure_id), headers=partner
        )
        return r.status_code == 200

    await eventually(opened)
    # Every read of results is in the access log: who, what, when (refusals are not reads).
    log = await client.get("/v1/access-log", headers=token("operator"),
                           params={"structure_id": str(other.structure_id)})  # fmt: skip
    assert log.status_code == 200, log.text
    reads = [(e["actor_role"], e["actor_subject"], e["action"]) for e in log.json()["items"]]
    assert reads[0] == ("partner", "frontend", "read.scorecard")
    assert ("structure", str(other.structure_id), "read.scorecard") not in reads
    mine = await client.get("/v1/access-log", headers=token("operator"),
                            params={"actor_subject": str(own.structure_id)})  # fmt: skip
    assert {e["action"] for e in mine.json()["items"]} == {"read.scorecard"}
    assert (await client.get("/v1/access-log", headers=me)).status_code == 403
    assert (
        await client.get(url(editions["embargoed"], own.structure_id), headers=partner)
    ).status_code == 404


async def test_barometer_is_public_once_published_with_withheld_groups(
    world: Any, token: Any
) -> None:
    client, js, editions, structures, _operator = world
    path = f"/v1/editions/{editions['current']}/barometer"
    assert (await client.get(path)).status_code == 404
    assert (await client.get(path, headers=token("structure", subject="x"))).status_code == 404
    await set_status(js, editions["current"], 2026, "scoring", "published")

    async def public() -> Any:
        r = await client.get(path)
        return r if r.status_code == 200 else None

    r = await eventually(public)
    assert r.headers["cache-control"].startswith("public")
    body = r.json()
    scores = [s.score for s in structures]
    assert body["sample"]["overall"]["mean"] == shown(sum(scores, Decimal(0)) / len(scores))
    assert body["sample"]["overall"]["median"] == shown(Decimal(statistics.median(scores)))
    strata = {g["key"]: g for g in body["strata"]}
    assert strata["departements"]["overall"]["withheld"] is True
    cities = [s.score for s in structures if s.stratum == "cities-50k-plus"]
    q1, _, q3 = statistics.quantiles(cities, n=4, method="inclusive")
    assert strata["cities-50k-plus"]["overall"]["q1"] == shown(q1)
    assert strata["cities-50k-plus"]["overall"]["q3"] == shown(q3)
    performing = sum(1 for s in cities if s >= 80) / len(cities)
    assert strata["cities-50k-plus"]["overall"]["performing_share"] == pytest.approx(
        performing, abs=1e-4
    )
    assert {c["key"] for c in body["certified"]} == {"true", "false"}
    assert [e["year"] for e in body["evolution"]] == [2025, 2026]
    assert set(body["sample"]["channels"]) == set(CHANNELS)
    cached = await client.get(path, headers={"If-None-Match": r.headers["etag"]})
    assert cached.status_code == 304


async def test_small_group_minimum_is_an_edition_setting(world: Any) -> None:
    client, _, editions, structures, operator = world
    settings_path = f"/v1/editions/{editions['current']}/reporting-settings"
    settings = (await client.get(settings_path, headers=operator)).json()
    assert settings["min_group_size"] == 5
    settings["min_group_size"] = 100
    assert (await client.put(settings_path, json=settings, headers=operator)).status_code == 200
    card = (
        await client.get(url(editions["current"], structures[0].structure_id), headers=operator)
    ).json()
    assert card["overall"]["stratum"]["withheld"] is True  # 90 < 100
    assert card["overall"]["sample"]["withheld"] is False
    settings["min_group_size"] = 1
    bad = await client.put(settings_path, json=settings, headers=operator)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


async def test_laureates_are_embargoed_until_published(world: Any) -> None:
    client, _, editions, structures, operator = world
    path = f"/v1/editions/{editions['current']}/laureates"
    assert (await client.get(path)).status_code == 404
    body = (await client.get(path, headers=operator)).json()
    categories = {c["code"]: c for c in body["categories"]}
    cities = [s for s in structures if s.stratum == "cities-50k-plus" and s.competes]
    best = max(cities, key=lambda s: s.score)
    assert categories["cities-50k-plus"]["laureates"][0]["structure_id"] == str(best.structure_id)
    assert categories["cities-50k-plus"]["decided_by"].startswith("highest overall score")
    assert categories["regions"]["laureates"] == []
    assert {m["code"] for m in body["mentions"]} == {
        "digital",
        "citizen-participation",
        "reception-skills",
    }
    published = await client.post(f"{path}/publish", headers=operator)
    assert published.status_code == 200
    r = await client.get(path)
    assert r.status_code == 200
    assert r.json()["published"] is True
    assert r.headers["cache-control"].startswith("public")


async def test_exports_csv_and_xlsx(world: Any, token: Any) -> None:
    client, _, editions, structures, operator = world
    path = f"/v1/editions/{editions['current']}/exports/scorecards"
    r = await client.get(path + ".csv", headers=operator)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().split("\n")
    assert lines[0].startswith("edition_id,structure_id,structure_name")
    per_structure = 1 + len(CHANNELS) + 3 + 3 + len(CHANNELS)
    assert len(lines) == 1 + per_structure * len(structures)
    book = load_workbook(io.BytesIO((await client.get(path + ".xlsx", headers=operator)).content))
    assert book["scorecards"].max_row == len(lines)
    assert (
        await client.get(path + ".csv", headers=token("structure", subject="x"))
    ).status_code == 403  # operator only


def _personalised(structures: list[Structure]) -> Structure:
    return next(s for s in structures[:40] if s.offer == "personalised")


async def test_report_json_masks_remarks_and_synthesises(world: Any, token: Any) -> None:
    client, _, editions, structures, _ = world
    s = _personalised(structures)
    me = token("structure", subject=str(s.structure_id))
    report: dict[str, Any] = {}

    async def remarks_loaded() -> bool:
        # Remarks come with fieldwork's validated audits, another durable than the scores the
        # world waited for: they may land a moment later.
        nonlocal report
        r = await client.get(url(editions["current"], s.structure_id, "report"), headers=me)
        report = r.json()
        return bool(report.get("remarks"))

    await eventually(remarks_loaded, within=60, interval=0.3)
    assert report["report"] == "personalised"
    assert report["remarks"]
    assert all("Dupont" not in r["remark"] for r in report["remarks"])
    assert all("02 40" not in r["remark"] for r in report["remarks"])
    synthesis = report["synthesis"]
    assert all(g["gap"] > 0 for g in synthesis["strengths"])
    assert all(g["gap"] < 0 for g in synthesis["points_for_progress"])
    assert report["perceived_quality"]["withheld"] is True
    standard = next(x for x in structures if x.offer == "standard")
    r = await client.get(url(editions["current"], standard.structure_id, "report"),
                         headers=token("structure", subject=str(standard.structure_id)))  # fmt: skip
    assert r.status_code == 404
