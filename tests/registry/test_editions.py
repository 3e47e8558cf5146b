"""Editions over HTTP: presets, copies, edits while draft, the status machine with its history
and events, calendar checks, listing with cursors."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from services.registry.vocabulary import EditionStatus
from tests.registry.conftest import (
    Headers,
    assert_problem,
    new_edition,
    ok,
    outbox_subjects,
)

ORDER = [s.value for s in EditionStatus]


async def test_the_2017_preset(
    client: httpx.AsyncClient, operator: dict[str, str], db: asyncpg.Connection
) -> None:
    edition = ok(await client.post("/v1/editions", json={"preset": "2017"}, headers=operator), 201)
    assert (edition["year"], edition["number"], edition["name"]) == (
        2017,
        6,
        "Indiko Expérience citoyen",
    )
    assert edition["status"] == "draft"
    assert edition["preset"] == "2017"
    assert edition["trophies_name"] == "Trophées de la Relation Citoyen"
    assert (edition["min_population"], edition["min_intercommunality_population"]) == (3500, 5001)
    calendar = edition["calendar"]
    assert calendar["registration_deadline"] == "2017-07-13"
    assert {w["channel"]: (w["starts_on"], w["ends_on"]) for w in calendar["windows"]} == {
        "website": ("2017-07-17", "2017-07-21"),
        "answering_machine": ("2017-07-24", "2017-08-04"),
        "phone": ("2017-09-04", "2017-10-27"),
        "email": ("2017-09-04", "2017-10-27"),
        "letter": ("2017-09-04", "2017-10-27"),
        "visit": ("2017-09-04", "2017-10-27"),
    }
    assert {q["channel"]: q["audits_per_site"] for q in edition["quotas"]} == {
        "email": 4, "phone": 4, "answering_machine": 1, "letter": 3, "website": 1, "visit": 2,
    }  # fmt: skip
    prices = {o["code"]: o["unit_price_cents"] for o in edition["offers"]}
    assert prices == {
        "standard": 0, "personalised": 110_000, "supplementary_site": 60_000, "visits": 40_000,
        "restitution": 60_000, "professional_audit": 330_000,
    }  # fmt: skip
    assert [s["code"] for s in edition["strata"]][:6] == [
        "cities-3500-10k", "cities-10k-20k", "cities-20k-50k", "cities-50k-100k",
        "cities-100k-plus", "intercommunalities-5k-plus",
    ]  # fmt: skip
    assert edition["strata"][0]["min_inclusive"] is True
    assert edition["strata"][0]["max_inclusive"] is False
    assert edition["vat_rate"] == "0.2000"
    assert await outbox_subjects(db) == [
        (
            "registry.edition.created.v1",
            {
                "edition_id": edition["id"],
                "year": 2017,
                "name": edition["name"],
                "status": "draft",
                "number": 6,
                "results_dispatch_on": "2017-11-20",
            },  # the embargo reporting keeps
        )
    ]
    catalogue = ok(await client.get(f"/v1/editions/{edition['id']}/offers", headers=operator))
    assert [o["code"] for o in catalogue["items"]] == list(prices)


async def test_the_2020_preset_moved_to_another_year_with_overrides(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    edition = ok(
        await client.post(
            "/v1/editions",
            json={"preset": "2020", "year": 2021, "number": 9, "max_accepted": 350},
            headers=operator,
        ),
        201,
    )
    assert (edition["year"], edition["number"], edition["name"]) == (
        2021,
        9,
        "Baromètre de l'expérience citoyen",
    )
    assert edition["max_accepted"] == 350
    assert edition["min_population"] is None
    assert edition["calendar"]["registration_deadline"] == "2020-12-31"
    emails = [w for w in edition["calendar"]["windows"] if w["channel"] == "email"]
    assert [(w["starts_on"], w["ends_on"]) for w in emails] == [
        ("2021-02-03", "2021-03-13"),
        ("2021-06-02", "2021-09-30"),
    ]
    assert {q["channel"] for q in edition["quotas"]} >= {"website", "social_network"}
    assert "answering_machine" not in {q["channel"] for q in edition["quotas"]}
    assert len(edition["strata"]) == 9


async def test_start_from_a_previous_edition(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    previous = await new_edition(client, operator, preset="2017", open_it=False)
    patched = ok(
        await client.patch(
            f"/v1/editions/{previous['id']}", json={"max_accepted": 175}, headers=operator
        )
    )
    assert patched["max_accepted"] == 175
    copy = ok(
        await client.post(
            "/v1/editions",
            json={"copy_from": previous["id"], "year": 2018, "number": 7, "name": "Indiko 2018"},
            headers=operator,
        ),
        201,
    )
    assert copy["copied_from"] == previous["id"]
    assert copy["status"] == "draft"
    assert copy["max_accepted"] == 175
    assert copy["offers"] == previous["offers"]
    assert copy["strata"] == previous["strata"]
    assert copy["quotas"] == previous["quotas"]
    assert copy["calendar"]["registration_deadline"] == "2018-07-13"
    missing = await client.post(
        "/v1/editions",
        json={"copy_from": str(uuid.uuid4()), "year": 2019, "number": 8, "name": "x"},
        headers=operator,
    )
    assert assert_problem(missing, 422)["field"] == "copy_from"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"year": 2026, "name": "no number"}, 422),
        ({"preset": "2019"}, 422),
        ({"preset": "2017", "copy_from": "00000000-0000-0000-0000-000000000000"}, 422),
        ({"preset": "2017", "status": "published"}, 422),
        ({"preset": "2017", "year": 1999}, 422),
        ({"preset": "2017", "vat_rate": "1.5"}, 422),
        ({"preset": "2017", "quotas": [{"channel": "fax", "audits_per_site": 1}]}, 422),
        ({"preset": "2017", "quotas": [{"channel": "email", "audits_per_site": 1}] * 2}, 422),
        ({"preset": "2017", "offers": []}, 422),
        (
            {
                "preset": "2017",
                "offers": [{"code": "std", "label": "S", "kind": "offer", "unit_price_cents": -1}],
            },
            422,
        ),
        ({"preset": "2017", "strata": [{"code": "x", "label": "X", "structure_types": []}]}, 422),
    ],
)
async def test_bad_edition_bodies(
    client: httpx.AsyncClient, operator: dict[str, str], body: dict[str, Any], status: int
) -> None:
    assert_problem(await client.post("/v1/editions", json=body, headers=operator), status)


async def test_calendar_and_quota_inconsistencies_name_the_field(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    edition = await new_edition(client, operator, preset="2017", open_it=False)
    url = f"/v1/editions/{edition['id']}"
    late_deadline = await client.patch(
        url, json={"calendar": {**edition["calendar"], "registration_deadline": "2017-08-01"}},
        headers=operator,
    )  # fmt: skip
    assert assert_problem(late_deadline, 422)["field"] == "calendar.registration_deadline"
    backwards = await client.patch(
        url,
        json={"calendar": {"windows": [
            {"channel": "email", "starts_on": "2017-09-10", "ends_on": "2017-09-01"}]}},
        headers=operator,
    )  # fmt: skip
    assert assert_problem(backwards, 422)["field"] == "calendar.windows[0].ends_on"
    early_ceremony = await client.patch(
        url, json={"calendar": {**edition["calendar"], "ceremony_on": "2017-10-01"}},
        headers=operator,
    )  # fmt: skip
    assert assert_problem(early_ceremony, 422)["field"] == "calendar.ceremony_on"
    orphan_quota = await client.patch(
        url,
        json={"quotas": [{"channel": "visit", "audits_per_site": 2, "requires_option": "tour"}]},
        headers=operator,
    )
    assert assert_problem(orphan_quota, 422)["field"] == "quotas[0].requires_option"
    taken = await new_edition(client, operator, year=2030, number=20, name="2030", open_it=False)
    assert (
        assert_problem(
            await client.patch(url, json={"year": taken["year"]}, headers=operator), 409
        )["field"]
        == "year"
    )
    assert_problem(await client.patch(url, json={"name": None}, headers=operator), 422)
    # Nothing was half-written.
    assert ok(await client.get(url, headers=operator)) == edition

    changed = ok(
        await client.patch(
            url,
            json={"year": 2019, "name": "Indiko 2019", "vat_rate": "0.2", "min_population": 2000},
            headers=operator,
        )
    )
    assert changed["calendar"]["registration_deadline"] == "2019-07-13"  # moved with the year
    assert (changed["min_population"], changed["offers"]) == (2000, edition["offers"])


async def test_the_status_machine_with_history_and_events(
    client: httpx.AsyncClient, operator: dict[str, str], db: asyncpg.Connection
) -> None:
    edition = await new_edition(client, operator, preset="2017", open_it=False)
    url = f"/v1/editions/{edition['id']}"
    for current_index, current in enumerate(ORDER):
        for target in ORDER:
            if ORDER.index(target) == current_index + 1:
                continue
            refused = await client.post(f"{url}/transitions", json={"to": target}, headers=operator)
            body = assert_problem(refused, 409)
            assert current in body["detail"]
            assert body["field"] == "to"
        if current_index + 1 < len(ORDER):
            moved = ok(
                await client.post(
                    f"{url}/transitions", json={"to": ORDER[current_index + 1]}, headers=operator
                )
            )
            assert moved["status"] == ORDER[current_index + 1]
    assert_problem(
        await client.post(f"{url}/transitions", json={"to": "done"}, headers=operator), 422
    )
    history = ok(await client.get(f"{url}/transitions", headers=operator))["items"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "draft"),
        *itertools.pairwise(ORDER),
    ]
    assert all(
        h["actor_role"] == "operator" and h["actor_subject"] == "operator-test" for h in history
    )
    page = ok(await client.get(f"{url}/transitions", params={"limit": 3}, headers=operator))
    rest = ok(
        await client.get(
            f"{url}/transitions",
            params={"limit": 10, "cursor": page["next_cursor"]},
            headers=operator,
        )
    )
    assert page["items"] + rest["items"] == history
    assert rest["next_cursor"] is None
    events = await outbox_subjects(db, "registry.edition.status_changed.v1")
    assert [(e["from_status"], e["to_status"]) for _, e in events] == list(
        itertools.pairwise(ORDER)
    )
    # Configuration is edited while draft only.
    assert_problem(await client.patch(url, json={"max_accepted": 3}, headers=operator), 409)


async def test_listing_editions_with_cursor_and_filters(
    client: httpx.AsyncClient, operator: dict[str, str], token: Headers
) -> None:
    for year in (2024, 2025, 2026):
        await new_edition(
            client, operator, year=year, number=year - 2011, name=f"E{year}", open_it=year == 2025
        )
    first = ok(await client.get("/v1/editions", params={"limit": 2}, headers=operator))
    assert [e["year"] for e in first["items"]] == [2026, 2025]
    second = ok(
        await client.get(
            "/v1/editions", params={"limit": 2, "cursor": first["next_cursor"]}, headers=operator
        )
    )
    assert [e["year"] for e in second["items"]] == [2024]
    assert second["next_cursor"] is None
    opened = ok(
        await client.get("/v1/editions", params={"status": "registration_open"}, headers=operator)
    )
    assert [e["year"] for e in opened["items"]] == [2025]
    by_year = ok(await client.get("/v1/editions", params={"year": 2024}, headers=operator))
    assert [e["year"] for e in by_year["items"]] == [2024]
    assert_problem(
        await client.get("/v1/editions", params={"cursor": "garbage"}, headers=operator), 400
    )
    assert_problem(await client.get("/v1/editions", params={"limit": 0}, headers=operator), 422)
    assert_problem(
        await client.post("/v1/editions", json={"preset": "2017"}, headers=token("structure")), 403
    )
    assert_problem(await client.get("/v1/editions", headers=token("auditor")), 403)
    assert_problem(await client.get(f"/v1/editions/{uuid.uuid4()}", headers=operator), 404)
    assert_problem(
        await client.post(
            "/v1/editions", json={"year": 2026, "number": 1, "name": "x"}, headers=operator
        ),
        409,
    )
