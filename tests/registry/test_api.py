"""The registry API against a real PostgreSQL and NATS: editions, structures, registrations."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from services.registry.app import create_app
from shared.messaging import ensure_stream
from tests.helpers import eventually, running

Headers = Callable[..., dict[str, str]]
NANTES = "44109"  # 327,734 inhabitants


@pytest.fixture
async def client(make_settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(make_settings("registry"))) as client:
        yield client


@pytest.fixture
def operator(token: Headers) -> dict[str, str]:
    return token("operator")


async def new_edition(
    client: httpx.AsyncClient, operator: dict[str, str], year: int = 2026, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/editions", json={"year": year, "name": f"Baromètre {year}", **extra}, headers=operator
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def new_structure(
    client: httpx.AsyncClient, operator: dict[str, str], **body: Any
) -> dict[str, Any]:
    payload = {"name": "Mairie de Nantes", "type": "city_hall", "commune_code": NANTES, **body}
    response = await client.post("/v1/structures", json=payload, headers=operator)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_edition_structure_registration_accept_publishes_event(
    client: httpx.AsyncClient, operator: dict[str, str], token: Headers, nats_url: str
) -> None:
    edition = await new_edition(client, operator)
    assert edition["status"] == "registration_open"
    assert edition["min_population"] == 3500
    assert [s["code"] for s in edition["strata"]][:3] == [
        "cities-50k-plus",
        "cities-20k-50k",
        "cities-under-20k",
    ]
    assert len(edition["strata"]) == 9

    structure = await new_structure(
        client,
        operator,
        certifications=[{"name": "marianne", "obtained_on": "2019-05-02"}],
    )
    assert structure["population"] == 327_734
    assert structure["departement_code"] == "44"
    assert structure["region_code"] == "52"
    assert [s["principal"] for s in structure["sites"]] == [True]
    assert structure["certifications"] == [{"name": "marianne", "obtained_on": "2019-05-02"}]

    # The structure registers itself.
    own = token("structure", subject=structure["id"])
    response = await client.post(
        f"/v1/editions/{edition['id']}/registrations",
        json={"structure_id": structure["id"], "offer": "personalised"},
        headers=own,
    )
    assert response.status_code == 201, response.text
    registration = response.json()
    assert registration["status"] == "pending"
    assert registration["offer"] == "personalised"
    assert registration["stratum"] == {
        "code": "cities-50k-plus",
        "label": "Cities of 50,000 inhabitants or more",
    }
    url = f"/v1/editions/{edition['id']}/registrations/{registration['id']}"
    seen = await client.get(url, headers=own)
    assert seen.status_code == 200
    assert seen.json()["id"] == registration["id"]

    accepted = await client.post(f"{url}/accept", headers=operator)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert_problem(await client.post(f"{url}/accept", headers=operator), 409)
    refused_after = await client.post(f"{url}/refuse", json={"reason": "x"}, headers=operator)
    assert_problem(refused_after, 409)

    listed = await client.get(
        f"/v1/editions/{edition['id']}/registrations",
        params={"status": "accepted"},
        headers=operator,
    )
    assert [r["id"] for r in listed.json()] == [registration["id"]]
    pending = await client.get(
        f"/v1/editions/{edition['id']}/registrations",
        params={"status": "pending"},
        headers=operator,
    )
    assert pending.json() == []

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, "registry")
        sub = await js.subscribe("registry.registration.accepted.v1", stream="REGISTRY")

        async def next_event() -> dict[str, Any] | None:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                return None
            await msg.ack()
            event: dict[str, Any] = json.loads(msg.data)
            return event

        event = await eventually(next_event)
    finally:
        await nc.close()
    assert event["producer"] == "registry"
    assert event["edition"] == edition["id"]
    payload = event["payload"]
    assert payload["registration_id"] == registration["id"]
    assert payload["structure_id"] == structure["id"]
    assert payload["structure_type"] == "city_hall"
    assert payload["commune_code"] == NANTES
    assert payload["population"] == 327_734
    assert payload["stratum_code"] == "cities-50k-plus"
    assert payload["certified"] is True
    assert payload["offer"] == "personalised"
    assert payload["sites"] == [
        {"site_id": structure["sites"][0]["id"], "name": "Mairie de Nantes", "principal": True}
    ]


async def test_edition_created_event_and_reads(
    client: httpx.AsyncClient, operator: dict[str, str], make_settings: Any
) -> None:
    older = await new_edition(client, operator, year=2025, min_population=2000)
    newer = await new_edition(client, operator, year=2026)
    assert_problem(
        await client.post("/v1/editions", json={"year": 2026, "name": "Again"}, headers=operator),
        409,
    )
    listed = await client.get("/v1/editions", headers=operator)
    assert [e["year"] for e in listed.json()] == [2026, 2025]
    filtered = await client.get("/v1/editions", params={"year": 2025}, headers=operator)
    assert [e["id"] for e in filtered.json()] == [older["id"]]
    one = await client.get(f"/v1/editions/{newer['id']}", headers=operator)
    assert one.json() == newer
    assert_problem(await client.get(f"/v1/editions/{uuid.uuid4()}", headers=operator), 404)

    conn = await asyncpg.connect(make_settings("registry").database_url)
    try:
        subjects = await conn.fetch("SELECT subject, envelope FROM registry.outbox ORDER BY id")
    finally:
        await conn.close()
    assert [r["subject"] for r in subjects] == ["registry.edition.created.v1"] * 2
    assert json.loads(subjects[0]["envelope"])["payload"]["year"] == 2025


async def test_territories_are_loaded_in_full(
    client: httpx.AsyncClient, operator: dict[str, str], token: Headers, make_settings: Any
) -> None:
    conn = await asyncpg.connect(make_settings("registry").database_url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, sum(population) AS total, count(*) FILTER "
            "(WHERE population IS NULL) AS unknown FROM registry.communes"
        )
        counts = {
            t: await conn.fetchval(f"SELECT count(*) FROM registry.{t}")
            for t in ("epcis", "departements", "regions")
        }
    finally:
        await conn.close()
    assert (row["n"], row["total"], row["unknown"]) == (34_969, 68_952_941, 12)
    assert counts == {"epcis": 1_255, "departements": 109, "regions": 26}

    response = await client.get(f"/v1/territories/communes/{NANTES}", headers=token("auditor"))
    assert (
        response.json().items()
        >= {
            "code": NANTES,
            "name": "Nantes",
            "departement_code": "44",
            "region_code": "52",
            "population": 327_734,
        }.items()
    )
    assert_problem(await client.get("/v1/territories/communes/00000", headers=operator), 404)
    assert_problem(await client.get(f"/v1/territories/communes/{NANTES}"), 401)


async def test_territorial_structures_derive_their_population(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    region = await new_structure(
        client, operator, name="Région Pays de la Loire", type="region", commune_code=None,
        region_code="52",
    )  # fmt: skip
    departement = await new_structure(
        client, operator, name="Loire-Atlantique", type="departement", commune_code=None,
        departement_code="44",
    )  # fmt: skip
    metropole = await new_structure(
        client, operator, name="Nantes Métropole", type="intercommunality", commune_code=None,
        epci_siren="244400404",
    )  # fmt: skip
    assert departement["region_code"] == "52"
    assert 1_000_000 < departement["population"] < region["population"] < 5_000_000
    assert metropole["population"] > 600_000
    edition = await new_edition(client, operator)
    strata = []
    for structure in (region, departement, metropole):
        response = await client.post(
            f"/v1/editions/{edition['id']}/registrations",
            json={"structure_id": structure["id"]},
            headers=operator,
        )
        assert response.status_code == 201, response.text
        strata.append(response.json()["stratum"]["code"])
    assert strata == ["regions", "departements", "intercommunalities"]


async def test_registration_refusals(client: httpx.AsyncClient, operator: dict[str, str]) -> None:
    edition = await new_edition(client, operator)
    base = f"/v1/editions/{edition['id']}/registrations"
    # L'Abergement-Clémenciat, 860 inhabitants: below the 3,500 minimum.
    small = await new_structure(client, operator, name="Mairie", commune_code="01001")
    refused = assert_problem(
        await client.post(base, json={"structure_id": small["id"]}, headers=operator), 422
    )
    assert "860" in refused["detail"]
    assert "3500" in refused["detail"]
    # Bezonvaux has no legal population: it cannot be checked against the minimum.
    empty = await new_structure(client, operator, name="Mairie", commune_code="55050")
    assert empty["population"] is None
    assert_problem(
        await client.post(base, json={"structure_id": empty["id"]}, headers=operator), 422
    )

    library = await new_structure(client, operator, name="Médiathèque", type="library")
    first = await client.post(base, json={"structure_id": library["id"]}, headers=operator)
    assert first.json()["stratum"]["code"] == "other-public-services"
    again = await client.post(base, json={"structure_id": library["id"]}, headers=operator)
    assert_problem(again, 409)

    refusal = await client.post(
        f"{base}/{first.json()['id']}/refuse", json={"reason": "cap reached"}, headers=operator
    )
    assert refusal.status_code == 200
    assert refusal.json()["status"] == "refused"
    assert refusal.json()["refusal_reason"] == "cap reached"
    accept = await client.post(f"{base}/{first.json()['id']}/accept", headers=operator)
    assert_problem(accept, 409)

    unknown = await client.post(base, json={"structure_id": str(uuid.uuid4())}, headers=operator)
    assert_problem(unknown, 422)
    missing_edition = await client.post(
        f"/v1/editions/{uuid.uuid4()}/registrations",
        json={"structure_id": library["id"]},
        headers=operator,
    )
    assert_problem(missing_edition, 404)
    missing = f"{base}/{uuid.uuid4()}"
    assert_problem(await client.get(missing, headers=operator), 404)
    assert_problem(await client.post(f"{missing}/accept", headers=operator), 404)


async def test_edition_closed_to_registrations(
    client: httpx.AsyncClient, operator: dict[str, str], make_settings: Any
) -> None:
    edition = await new_edition(client, operator)
    structure = await new_structure(client, operator)
    conn = await asyncpg.connect(make_settings("registry").database_url)
    try:
        await conn.execute(
            "UPDATE registry.editions SET status = 'fieldwork' WHERE id = $1",
            uuid.UUID(edition["id"]),
        )
    finally:
        await conn.close()
    response = await client.post(
        f"/v1/editions/{edition['id']}/registrations",
        json={"structure_id": structure["id"]},
        headers=operator,
    )
    assert "fieldwork" in assert_problem(response, 422)["detail"]


async def test_bad_input_is_refused_with_problems(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    malformed = await client.post(
        "/v1/editions",
        content=b'{"year": 2026,',
        headers={**operator, "content-type": "application/json"},
    )
    assert assert_problem(malformed, 400)["type"].endswith("malformed-json")
    assert_problem(
        await client.post("/v1/editions", json={"year": "soon", "name": "x"}, headers=operator),
        422,
    )
    assert_problem(
        await client.post("/v1/editions", json={"year": 1999, "name": "x"}, headers=operator),
        422,
    )
    assert_problem(
        await client.post(
            "/v1/editions", json={"year": 2026, "name": "x", "status": "published"},
            headers=operator,
        ),
        422,
    )  # fmt: skip
    typed_stratum = await client.post(
        "/v1/structures",
        json={"name": "M", "type": "city_hall", "commune_code": NANTES, "stratum": "regions"},
        headers=operator,
    )
    assert "stratum" in assert_problem(typed_stratum, 422)["detail"]
    typed_population = await client.post(
        "/v1/structures",
        json={"name": "M", "type": "city_hall", "commune_code": NANTES, "population": 99},
        headers=operator,
    )
    assert_problem(typed_population, 422)
    unknown_commune = await client.post(
        "/v1/structures",
        json={"name": "M", "type": "city_hall", "commune_code": "99999"},
        headers=operator,
    )
    assert "99999" in assert_problem(unknown_commune, 422)["detail"]
    unknown_epci = await client.post(
        "/v1/structures",
        json={"name": "M", "type": "intercommunality", "epci_siren": "000000000"},
        headers=operator,
    )
    assert "000000000" in assert_problem(unknown_epci, 422)["detail"]
    no_commune = await client.post(
        "/v1/structures", json={"name": "M", "type": "library"}, headers=operator
    )
    assert "commune_code" in assert_problem(no_commune, 422)["detail"]
    derived_region = await client.post(
        "/v1/structures",
        json={"name": "M", "type": "city_hall", "commune_code": NANTES, "region_code": "52"},
        headers=operator,
    )
    assert_problem(derived_region, 422)
    bad_type = await client.post(
        "/v1/structures",
        json={"name": "M", "type": "castle", "commune_code": NANTES},
        headers=operator,
    )
    assert_problem(bad_type, 422)
    bad_certification = await client.post(
        "/v1/structures",
        json={
            "name": "M", "type": "city_hall", "commune_code": NANTES,
            "certifications": [{"name": "afaq", "obtained_on": "2020-01-01"}],
        },
        headers=operator,
    )  # fmt: skip
    assert_problem(bad_certification, 422)
    assert_problem(await client.get("/v1/structures/not-a-uuid", headers=operator), 422)
    assert_problem(await client.get(f"/v1/structures/{uuid.uuid4()}", headers=operator), 404)
    edition = await new_edition(client, operator)
    bad_offer = await client.post(
        f"/v1/editions/{edition['id']}/registrations",
        json={"structure_id": str(uuid.uuid4()), "offer": "premium"},
        headers=operator,
    )
    assert_problem(bad_offer, 422)


async def test_authentication_and_roles(
    client: httpx.AsyncClient, operator: dict[str, str], token: Headers
) -> None:
    structure = await new_structure(client, operator)
    other = await new_structure(client, operator, name="Mairie de Rezé", commune_code="44143")
    edition = await new_edition(client, operator)

    assert_problem(await client.get("/v1/editions"), 401)
    assert_problem(
        await client.get("/v1/editions", headers={"Authorization": "Bearer nonsense"}), 401
    )
    assert_problem(await client.get("/v1/editions", headers=token("auditor")), 403)
    assert_problem(
        await client.post(
            "/v1/editions", json={"year": 2030, "name": "x"}, headers=token("partner")
        ),
        403,
    )
    own = token("structure", subject=structure["id"])
    assert_problem(
        await client.post(
            "/v1/structures",
            json={"name": "M", "type": "city_hall", "commune_code": NANTES},
            headers=own,
        ),
        403,
    )
    mine = await client.get(f"/v1/structures/{structure['id']}", headers=own)
    assert mine.status_code == 200
    assert mine.json()["id"] == structure["id"]
    assert_problem(await client.get(f"/v1/structures/{other['id']}", headers=own), 403)
    assert_problem(await client.get(f"/v1/structures/{other['id']}", headers=token("auditor")), 403)

    base = f"/v1/editions/{edition['id']}/registrations"
    for_other = await client.post(base, json={"structure_id": other["id"]}, headers=own)
    assert_problem(for_other, 403)
    others = await client.post(base, json={"structure_id": other["id"]}, headers=operator)
    assert others.status_code == 201
    other_url = f"{base}/{others.json()['id']}"
    assert_problem(await client.get(other_url, headers=own), 403)
    assert_problem(await client.post(f"{other_url}/accept", headers=own), 403)
    assert_problem(await client.get(base, headers=own), 403)
