"""Registrations over HTTP: eligibility, offer and options, review with reasons, cap and
waiting list, quotes, the accepted event on JetStream (also across a NATS outage)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from barometer_cli.embedded import EmbeddedNats
from services.registry.app import create_app
from tests.helpers import eventually, nats_setup, running
from tests.registry.conftest import (
    NANTES,
    Headers,
    assert_problem,
    new_edition,
    new_structure,
    ok,
    outbox_subjects,
    register,
    stream_events,
    url_of,
)

V2 = "registry.registration.accepted.v2"
REZE = "44143"


async def rich_structure(client: httpx.AsyncClient, operator: dict[str, str]) -> dict[str, Any]:
    return await new_structure(
        client,
        operator,
        siren="214401093",
        certifications=[
            {"name": "marianne", "obtained_on": "2010-01-01", "expires_on": "2026-01-01"},
            {"name": "qualivilles", "obtained_on": "2020-03-01"},
        ],
        sites=[
            {"name": "Hôtel de ville", "principal": True, "contacts": [
                {"channel": "email", "value": "accueil@nantes.fr"},
                {"channel": "phone", "value": "02 40 41 90 00"}]},
            {"name": "Annexe de Rezé", "commune_code": REZE,
             "contacts": [{"channel": "letter", "value": "1 place Jean-Baptiste Daviais, 44400 Rezé"}]},
            {"name": "Annexe Nord"},
        ],
    )  # fmt: skip


async def test_accepting_publishes_exactly_one_v2_with_everything(
    client: httpx.AsyncClient,
    operator: dict[str, str],
    token: Headers,
    nats_url: str,
    db: asyncpg.Connection,
) -> None:
    edition = await new_edition(
        client, operator, preset="2017", year=2026, number=15, max_accepted=10
    )
    structure = await rich_structure(client, operator)
    by_name = {s["name"]: s["id"] for s in structure["sites"]}
    principal, reze, north = (
        by_name[n] for n in ("Hôtel de ville", "Annexe de Rezé", "Annexe Nord")
    )
    own = token("structure", subject=structure["id"])
    # The structure applies itself, after the (moved) 2026 deadline: refused; the operator
    # registers it for the panel instead.
    late = await client.post(
        f"/v1/editions/{edition['id']}/registrations",
        json={"structure_id": structure["id"]},
        headers=own,
    )
    late_problem = assert_problem(late, 422)
    assert late_problem["reason"] == "deadline-passed"
    registration = await register(
        client, operator, edition, structure, offer="personalised", site_ids=[reze, principal],
        options=["visits"], competes_for_trophies=True,
    )  # fmt: skip
    assert registration["site_ids"] == [principal, reze]  # principal first
    assert registration["applied_by"] == "operator"
    assert ok(await client.get(url_of(registration), headers=own))["id"] == registration["id"]

    key = {"Idempotency-Key": str(uuid.uuid4())}
    accepted = ok(await client.post(url_of(registration) + "/accept", headers={**operator, **key}))
    assert accepted["status"] == "accepted"
    replay = await client.post(url_of(registration) + "/accept", headers={**operator, **key})
    assert replay.status_code == 200
    assert replay.json() == accepted
    assert_problem(await client.post(url_of(registration) + "/accept", headers=operator), 409)

    events = await eventually(lambda: _some(stream_events(nats_url, V2)))
    await asyncio.sleep(0.5)  # let anything extra arrive
    events = await stream_events(nats_url, V2)
    assert len(events) == 1
    assert await stream_events(nats_url, "registry.registration.accepted.v1") == []
    payload = events[0]["payload"]
    assert payload["registration_id"] == registration["id"]
    assert (payload["edition_year"], payload["structure_name"]) == (2026, "Mairie de Nantes")
    assert (payload["structure_type"], payload["population"]) == ("city_hall", 327_734)
    assert (payload["departement_code"], payload["region_code"]) == ("44", "52")
    assert payload["stratum_code"] == "cities-100k-plus"
    # Marianne expired before the 2026 fieldwork started (17 July); Qualivilles holds.
    assert (payload["certified"], payload["certifications"]) == (True, ["qualivilles"])
    assert (payload["offer"], payload["options"], payload["competes_for_trophies"]) == (
        "personalised", ["visits"], True,
    )  # fmt: skip
    assert [s["site_id"] for s in payload["sites"]] == [principal, reze]
    assert north not in str(payload["sites"])
    assert payload["sites"][0]["contacts"] == [
        {"channel": "email", "value": "accueil@nantes.fr"},
        {"channel": "phone", "value": "+33240419000"},
    ]
    assert payload["sites"][1]["commune_code"] == REZE
    assert {(w["channel"], w["starts_on"]) for w in payload["windows"]} >= {
        ("website", "2026-07-17")
    }
    assert {q["channel"]: (q["audits_per_site"], q["requires_option"]) for q in payload["quotas"]}[
        "visit"
    ] == (2, "visits")
    assert len(await outbox_subjects(db, V2)) == 1


async def _some(pending: Any) -> Any:
    found = await pending
    return found or None


async def test_an_acceptance_during_a_nats_outage_is_published_once_when_nats_is_back(
    make_settings: Any, operator: dict[str, str], tmp_path: Path, db: asyncpg.Connection
) -> None:
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    await nats_setup(server.url)
    try:
        app = create_app(make_settings("registry", nats_url=server.url))
        async with running(app) as client:
            edition = await new_edition(client, operator)
            structure = await new_structure(client, operator)
            registration = await register(client, operator, edition, structure)
            server.stop()
            accepted = ok(await client.post(url_of(registration) + "/accept", headers=operator))
            assert accepted["status"] == "accepted"  # the write does not wait for NATS
            await asyncio.sleep(1.0)
            pending = await db.fetchval(
                "SELECT count(*) FROM outbox WHERE subject = $1 AND published_at IS NULL", V2
            )
            assert pending == 1
            server.start()  # same port, same JetStream store

            async def published() -> bool:
                left: int = await db.fetchval(
                    "SELECT count(*) FROM outbox WHERE subject = $1 AND published_at IS NULL", V2
                )
                return left == 0

            await eventually(published, within=60)
            events = await stream_events(server.url, V2)
        assert [e["payload"]["registration_id"] for e in events] == [registration["id"]]
    finally:
        server.stop()


async def test_eligibility_refusals(
    client: httpx.AsyncClient, operator: dict[str, str], token: Headers
) -> None:
    draft = await new_edition(client, operator, preset="2017", year=2030, number=19, open_it=False)
    nantes = await new_structure(client, operator)
    own = token("structure", subject=nantes["id"])
    not_open = await client.post(
        f"/v1/editions/{draft['id']}/registrations",
        json={"structure_id": nantes["id"]},
        headers=operator,
    )
    assert assert_problem(not_open, 422)["reason"] == "edition-not-open"
    ok(await client.patch(f"/v1/editions/{draft['id']}",
                          json={"calendar": {"registration_deadline": "2030-07-13"}}, headers=operator))  # fmt: skip
    ok(
        await client.post(
            f"/v1/editions/{draft['id']}/transitions",
            json={"to": "registration_open"},
            headers=operator,
        )
    )
    edition = draft
    base = f"/v1/editions/{edition['id']}/registrations"

    small = await new_structure(client, operator, name="Mairie", commune_code="01001")  # 860
    refused = assert_problem(
        await client.post(base, json={"structure_id": small["id"]}, headers=operator), 422
    )
    assert refused["reason"] == "population-too-small"
    assert "860" in refused["detail"]
    assert "3500" in refused["detail"]
    empty = await new_structure(client, operator, name="Mairie", commune_code="55050")
    assert empty["population"] is None
    unknown = assert_problem(
        await client.post(base, json={"structure_id": empty["id"]}, headers=operator), 422
    )
    assert unknown["reason"] == "population-unknown"
    small_epci = await new_structure(
        client, operator, name="CC Coeur de Brenne", type="intercommunality", commune_code=None,
        epci_siren="243600343",
    )  # fmt: skip
    assert small_epci["population"] == 4_735  # 2017: intercommunalities of over 5,000 only
    too_small = await client.post(base, json={"structure_id": small_epci["id"]}, headers=operator)
    assert assert_problem(too_small, 422)["reason"] == "population-too-small"

    def body(**extra: Any) -> dict[str, Any]:
        return {"structure_id": nantes["id"], **extra}

    other = await new_structure(client, operator, name="Mairie de Rezé", commune_code=REZE)
    cases = [
        (body(offer="premium"), "offer"),
        (body(offer="standard", options=["restitution"]), "options[0]"),
        (body(offer="personalised", options=["kiosk"]), "options[0]"),
        (
            body(offer="standard", site_ids=[nantes["sites"][0]["id"], other["sites"][0]["id"]]),
            "site_ids[1]",
        ),
        (body(site_ids=[]), "site_ids"),
        (body(structure_id=str(uuid.uuid4())), "structure_id"),
    ]
    for payload, field in cases:
        problem = assert_problem(await client.post(base, json=payload, headers=operator), 422)
        assert problem.get("field") == field, (payload, problem)
    assert_problem(
        await client.post(base, json=body(options=["visits", "visits"]), headers=operator), 422
    )
    on_request = await client.post(
        base, json=body(offer="personalised", options=["professional_audit"]), headers=own
    )
    assert assert_problem(on_request, 422)["field"] == "options[0]"
    assert_problem(await client.post(base, json={"structure_id": other["id"]}, headers=own), 404)

    mine = ok(await client.post(base, json=body(competes_for_trophies=True), headers=own), 201)
    assert (mine["applied_by"], mine["offer"], mine["competes_for_trophies"]) == (
        "structure",
        "standard",
        True,
    )
    assert_problem(await client.post(base, json=body(), headers=own), 409)
    assert_problem(
        await client.post(
            f"/v1/editions/{uuid.uuid4()}/registrations", json=body(), headers=operator
        ),
        404,
    )
    # The operator adds the professional audit on request.
    patched = ok(
        await client.patch(
            url_of(mine),
            json={"offer": "personalised", "options": ["professional_audit"]},
            headers=operator,
        )
    )
    assert patched["options"] == ["professional_audit"]
    assert_problem(
        await client.patch(url_of(mine), json={"options": ["restitution"]}, headers=own), 403
    )
    assert_problem(await client.get(base, headers=own), 403)


async def test_review_cap_waiting_list_and_promotion(
    client: httpx.AsyncClient, operator: dict[str, str], token: Headers, db: asyncpg.Connection
) -> None:
    edition = await new_edition(client, operator, max_accepted=1)
    first = await register(client, operator, edition, await new_structure(client, operator))
    second = await register(
        client,
        operator,
        edition,
        await new_structure(client, operator, name="Rezé", commune_code=REZE),
    )
    third = await register(
        client,
        operator,
        edition,
        await new_structure(client, operator, name="Rennes", commune_code="35238"),
    )
    ok(await client.post(url_of(first) + "/accept", headers=operator))
    full = assert_problem(await client.post(url_of(second) + "/accept", headers=operator), 409)
    assert full["type"].endswith("/cap-reached")
    assert_problem(await client.post(url_of(second) + "/waitlist", json={}, headers=operator), 422)
    waiting = ok(
        await client.post(
            url_of(second) + "/waitlist", json={"reason": "cap reached"}, headers=operator
        )
    )
    assert (waiting["status"], waiting["decision_reason"]) == ("waitlisted", "cap reached")
    ok(
        await client.post(
            url_of(third) + "/waitlist", json={"reason": "cap reached"}, headers=operator
        )
    )
    assert_problem(
        await client.post(url_of(first) + "/refuse", json={"reason": "x"}, headers=operator), 409
    )

    # The first structure withdraws itself: the registration waiting longest takes the place.
    own = token("structure", subject=first["structure_id"])
    assert_problem(
        await client.post(url_of(second) + "/withdraw", json={"reason": "x"}, headers=own), 404
    )
    gone = ok(
        await client.post(
            url_of(first) + "/withdraw", json={"reason": "council decision"}, headers=own
        )
    )
    assert gone["status"] == "withdrawn"
    promoted = ok(await client.get(url_of(second), headers=operator))
    assert promoted["status"] == "accepted"
    assert "waiting list" in promoted["decision_reason"]
    assert ok(await client.get(url_of(third), headers=operator))["status"] == "waitlisted"
    accepted = [p["registration_id"] for _, p in await outbox_subjects(db, V2)]
    assert accepted == [first["id"], second["id"]]
    withdrawn = await outbox_subjects(db, "registry.registration.withdrawn.v1")
    assert [p["registration_id"] for _, p in withdrawn] == [first["id"]]

    refused = ok(
        await client.post(
            url_of(third) + "/refuse", json={"reason": "not representative"}, headers=operator
        )
    )
    assert (refused["status"], refused["decision_reason"]) == ("refused", "not representative")
    assert_problem(await client.post(url_of(third) + "/accept", headers=operator), 409)
    assert_problem(
        await client.post(url_of(third) + "/refuse", json={"reason": ""}, headers=operator), 422
    )
    missing = f"/v1/editions/{edition['id']}/registrations/{uuid.uuid4()}"
    assert_problem(await client.post(missing + "/accept", headers=operator), 404)
    assert_problem(await client.post(url_of(second) + "/accept", headers=own), 403)


async def test_quotes_over_http(
    client: httpx.AsyncClient, operator: dict[str, str], token: Headers
) -> None:
    edition = await new_edition(client, operator, preset="2017", year=2026, number=15)
    structure = await rich_structure(client, operator)
    sites = [s["id"] for s in structure["sites"]]
    registration = await register(
        client, operator, edition, structure, offer="personalised", site_ids=sites,
        options=["visits", "restitution", "professional_audit"],
    )  # fmt: skip
    own = token("structure", subject=structure["id"])
    quote = ok(await client.get(url_of(registration) + "/quote", headers=own))
    assert [
        (q["code"], q["quantity"], q["unit_price_cents"], q["amount_cents"]) for q in quote["lines"]
    ] == [
        ("personalised", 1, 110_000, 110_000),
        ("supplementary_site", 2, 60_000, 120_000),
        ("visits", 3, 40_000, 120_000),
        ("restitution", 1, 60_000, 60_000),
        ("professional_audit", 1, 330_000, 330_000),
    ]
    assert (quote["total_excl_vat_cents"], quote["vat_rate"], quote["vat_cents"], quote["total_incl_vat_cents"]) == (
        740_000, "0.2000", 148_000, 888_000,
    )  # fmt: skip
    other = await new_structure(client, operator, name="Mairie de Rezé", commune_code=REZE)
    standard = await register(client, operator, edition, other, options=["visits"])
    visits_only = ok(await client.get(url_of(standard) + "/quote", headers=operator))
    assert [(q["code"], q["amount_cents"]) for q in visits_only["lines"]] == [
        ("standard", 0),
        ("visits", 40_000),
    ]
    assert visits_only["total_incl_vat_cents"] == 48_000
    assert_problem(await client.get(url_of(standard) + "/quote", headers=own), 404)


async def test_listing_registrations_with_filters(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    edition = await new_edition(client, operator)
    nantes = await register(client, operator, edition, await new_structure(
        client, operator, certifications=[{"name": "iso9001", "obtained_on": "2015-01-01"}]))  # fmt: skip
    rennes = await register(
        client,
        operator,
        edition,
        await new_structure(client, operator, name="Rennes", commune_code="35238"),
    )
    ccas = await register(
        client,
        operator,
        edition,
        await new_structure(client, operator, name="CCAS", type="ccas", commune_code=REZE),
    )
    ok(await client.post(url_of(rennes) + "/accept", headers=operator))
    base = f"/v1/editions/{edition['id']}/registrations"

    async def ids(**params: Any) -> list[str]:
        return [
            r["id"] for r in ok(await client.get(base, params=params, headers=operator))["items"]
        ]

    assert await ids() == [nantes["id"], rennes["id"], ccas["id"]]
    assert await ids(status="accepted") == [rennes["id"]]
    assert await ids(stratum="cities-50k-plus") == [nantes["id"], rennes["id"]]
    assert await ids(type="ccas") == [ccas["id"]]
    assert await ids(departement="44") == [nantes["id"], ccas["id"]]
    assert await ids(region="53") == [rennes["id"]]
    assert await ids(certification="iso9001") == [nantes["id"]]
    page = ok(await client.get(base, params={"limit": 2}, headers=operator))
    rest = ok(
        await client.get(base, params={"limit": 2, "cursor": page["next_cursor"]}, headers=operator)
    )
    assert [r["id"] for r in page["items"] + rest["items"]] == [
        nantes["id"],
        rennes["id"],
        ccas["id"],
    ]
    assert_problem(await client.get(base, params={"status": "maybe"}, headers=operator), 422)
    assert NANTES


async def test_the_cap_holds_under_concurrent_acceptances(
    client: httpx.AsyncClient, operator: dict[str, str], db: asyncpg.Connection
) -> None:
    edition = await new_edition(client, operator, max_accepted=2)
    communes = ["44109", REZE, "35238", "49007", "44184"]
    registrations = [
        await register(
            client,
            operator,
            edition,
            await new_structure(client, operator, name=f"Mairie {code}", commune_code=code),
        )
        for code in communes
    ]
    answers = await asyncio.gather(
        *(client.post(url_of(r) + "/accept", headers=operator) for r in registrations)
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 409, 409, 409]
    assert await db.fetchval("SELECT count(*) FROM registrations WHERE status = 'accepted'") == 2
    assert len(await outbox_subjects(db, V2)) == 2
