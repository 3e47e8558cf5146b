"""Structures over HTTP: territory and population, SIREN, contact points per channel, sites,
certifications, duplicates, listing with filters, CSV import."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.registry.conftest import NANTES, Headers, assert_problem, new_structure, ok

REZE = "44143"


async def test_a_structure_with_sites_contacts_and_certifications(
    client: httpx.AsyncClient, operator: dict[str, str], token: Headers
) -> None:
    structure = await new_structure(
        client,
        operator,
        siren="214401093",
        certifications=[
            {"name": "marianne", "obtained_on": "2019-05-02", "expires_on": "2022-05-01"},
            {"name": "qualivilles", "obtained_on": "2020-01-15"},
        ],
        sites=[
            {
                "name": "Hôtel de ville",
                "principal": True,
                "contacts": [
                    {"channel": "email", "value": "Accueil@Mairie-Nantes.FR"},
                    {"channel": "phone", "value": "02 40 41 90 00"},
                    {"channel": "letter", "value": "2 rue de l'Hôtel de Ville, 44000 Nantes"},
                    {"channel": "website", "value": "https://metropole.nantes.fr"},
                    {"channel": "social_network", "value": "https://www.facebook.com/nantesfr"},
                ],
            },
            {
                "name": "Mairie annexe de Rezé",
                "commune_code": REZE,
                "contacts": [{"channel": "phone", "value": "+33 2 40 84 43 00"}],
            },
        ],
    )
    assert structure["population"] == 327_734
    assert (structure["departement_code"], structure["region_code"]) == ("44", "52")
    assert structure["siren"] == "214401093"
    principal, annex = structure["sites"]
    assert principal["principal"] is True
    assert principal["contacts"] == [
        {"channel": "email", "value": "Accueil@mairie-nantes.fr"},
        {"channel": "phone", "value": "+33240419000"},
        {"channel": "letter", "value": "2 rue de l'Hôtel de Ville, 44000 Nantes"},
        {"channel": "website", "value": "https://metropole.nantes.fr/"},
        {"channel": "social_network", "value": "https://www.facebook.com/nantesfr"},
    ]
    assert (annex["principal"], annex["commune_code"]) == (False, REZE)
    assert annex["contacts"] == [{"channel": "phone", "value": "+33240844300"}]
    assert structure["certifications"] == [
        {"name": "marianne", "obtained_on": "2019-05-02", "expires_on": "2022-05-01"},
        {"name": "qualivilles", "obtained_on": "2020-01-15", "expires_on": None},
    ]
    url = f"/v1/structures/{structure['id']}"
    added = ok(
        await client.post(
            f"{url}/sites",
            json={
                "name": "Pôle social",
                "contacts": [{"channel": "email", "value": "social@nantes.fr"}],
            },
            headers=operator,
        ),
        201,
    )
    assert [s["name"] for s in added["sites"]] == [
        "Hôtel de ville",
        "Mairie annexe de Rezé",
        "Pôle social",
    ]
    assert added["sites"][2]["commune_code"] == NANTES
    renewed = ok(
        await client.post(
            f"{url}/certifications",
            json={"name": "marianne", "obtained_on": "2022-06-01", "expires_on": "2025-05-31"},
            headers=operator,
        )
    )
    assert renewed["certifications"][0]["obtained_on"] == "2022-06-01"
    own = token("structure", subject=structure["id"])
    assert ok(await client.get(url, headers=own)) == renewed
    assert_problem(await client.post(f"{url}/sites", json={"name": "x"}, headers=own), 403)


async def test_default_principal_site_and_territorial_structures(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    library = await new_structure(client, operator, name="Médiathèque", type="library")
    assert [(s["name"], s["principal"]) for s in library["sites"]] == [("Médiathèque", True)]
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
    assert 1_000_000 < departement["population"] < region["population"] < 5_000_000
    assert metropole["population"] > 600_000
    assert departement["region_code"] == "52"


BAD = [
    ({"siren": "214401094"}, "siren"),
    ({"siren": "21440109"}, "siren"),
    ({"sites": [{"name": "A", "principal": True, "contacts": [{"channel": "email", "value": "nobody@"}]}]}, "value"),
    ({"sites": [{"name": "A", "principal": True, "contacts": [{"channel": "phone", "value": "02 40 41"}]}]}, "value"),
    ({"sites": [{"name": "A", "principal": True, "contacts": [{"channel": "phone", "value": "hello"}]}]}, "value"),
    ({"sites": [{"name": "A", "principal": True, "contacts": [{"channel": "website", "value": "not a url"}]}]}, "value"),
    ({"sites": [{"name": "A", "principal": True, "contacts": [{"channel": "letter", "value": "Rue sans code"}]}]}, "value"),
    ({"sites": [{"name": "A", "principal": True, "contacts": [{"channel": "fax", "value": "x"}]}]}, "channel"),
    ({"sites": [{"name": "A"}]}, "principal"),
    ({"sites": [{"name": "A", "principal": True}, {"name": "B", "principal": True}]}, "principal"),
    ({"certifications": [{"name": "marianne", "obtained_on": "2020-01-02", "expires_on": "2020-01-01"}]}, "expires"),
    ({"certifications": [{"name": "afaq", "obtained_on": "2020-01-02"}]}, "certifications"),
    ({"stratum": "regions"}, "stratum"),
    ({"population": 99}, "population"),
    ({"commune_code": "99999"}, "99999"),
    ({"region_code": "52"}, "region_code"),
    ({"type": "castle"}, "type"),
    ({"type": "intercommunality", "commune_code": None, "epci_siren": "000000000"}, "000000000"),
    ({"sites": [{"name": "A", "principal": True, "commune_code": "99999"}]}, "sites[0].commune_code"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "mentioned"), BAD)
async def test_bad_structures_are_refused(
    client: httpx.AsyncClient,
    operator: dict[str, str],
    db: asyncpg.Connection,
    change: dict[str, Any],
    mentioned: str,
) -> None:
    body = {"name": "Mairie", "type": "city_hall", "commune_code": NANTES, **change}
    body = {k: v for k, v in body.items() if v is not None}
    problem = assert_problem(await client.post("/v1/structures", json=body, headers=operator), 422)
    assert mentioned in f"{problem['detail']} {problem.get('field', '')}"
    assert await db.fetchval("SELECT count(*) FROM structures") == 0


async def test_duplicates_point_to_the_existing_structure(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    first = await new_structure(client, operator, siren="214401093")
    same_siren = await client.post(
        "/v1/structures",
        json={"name": "Autre", "type": "library", "commune_code": REZE, "siren": "214401093"},
        headers=operator,
    )
    problem = assert_problem(same_siren, 409)
    assert problem["type"].endswith("/duplicate-structure")
    assert problem["existing_id"] == first["id"]
    assert problem["existing"] == f"/v1/structures/{first['id']}"
    same_place = await client.post(
        "/v1/structures",
        json={"name": "Mairie bis", "type": "city_hall", "commune_code": NANTES},
        headers=operator,
    )
    assert assert_problem(same_place, 409)["existing_id"] == first["id"]
    # Another type in the same commune is another structure.
    await new_structure(client, operator, name="CCAS de Nantes", type="ccas")


async def test_listing_structures_with_filters_and_cursor(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    await new_structure(client, operator, name="Mairie de Nantes")
    await new_structure(client, operator, name="Mairie de Rezé", commune_code=REZE,
                        certifications=[{"name": "qualivilles", "obtained_on": "2018-01-01"}])  # fmt: skip
    await new_structure(client, operator, name="Mairie de Rennes", commune_code="35238")
    await new_structure(client, operator, name="CCAS de Rennes", type="ccas", commune_code="35238")
    names = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = ok(await client.get("/v1/structures", params=params, headers=operator))
        names += [s["name"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == ["CCAS de Rennes", "Mairie de Nantes", "Mairie de Rennes", "Mairie de Rezé"]

    async def listed(**params: Any) -> list[str]:
        page = ok(await client.get("/v1/structures", params=params, headers=operator))
        return [s["name"] for s in page["items"]]

    assert await listed(departement="44") == ["Mairie de Nantes", "Mairie de Rezé"]
    assert await listed(region="53") == ["CCAS de Rennes", "Mairie de Rennes"]
    assert await listed(type="ccas") == ["CCAS de Rennes"]
    assert await listed(certification="qualivilles") == ["Mairie de Rezé"]
    assert_problem(
        await client.get("/v1/structures", params={"type": "castle"}, headers=operator), 422
    )


CSV_HEADER = "name;type;territory_code;siren;email;phone\n"
CSV_GOOD_1 = "Mairie de Rezé;city_hall;44143;;accueil@mairie-reze.fr;02 40 84 43 00\n"
CSV_BAD_TYPE = "Château;castle;44109;;;\n"
CSV_GOOD_2 = "Nantes Métropole;intercommunality;244400404;244400404;;\n"
CSV_BAD_PHONE = "Mairie de Rennes;city_hall;35238;;;0000\n"
CSV_BAD_COMMUNE = "Mairie fantôme;city_hall;99999;;;\n"
CSV_TWIN = "Mairie de Rezé encore;city_hall;44143;;;\n"


async def import_csv(
    client: httpx.AsyncClient, operator: dict[str, str], text: str, **params: Any
) -> httpx.Response:
    return await client.post(
        "/v1/structures/import",
        content=text.encode(),
        params=params,
        headers={**operator, "content-type": "text/csv"},
    )


async def test_csv_import_with_bad_rows_in_the_middle_creates_nothing(
    client: httpx.AsyncClient, operator: dict[str, str], db: asyncpg.Connection
) -> None:
    text = (
        CSV_HEADER
        + CSV_GOOD_1
        + CSV_BAD_TYPE
        + CSV_GOOD_2
        + CSV_BAD_PHONE
        + CSV_BAD_COMMUNE
        + CSV_TWIN
    )
    problem = assert_problem(await import_csv(client, operator, text), 422)
    lines = [(e["line"], e["reason"]) for e in problem["errors"]]
    assert [line for line, _ in lines] == [3, 5, 6, 7]
    assert "type" in lines[0][1]
    assert "phone" in lines[1][1]
    assert "99999" in lines[2][1]
    assert "line 2" in lines[3][1]
    assert await db.fetchval("SELECT count(*) FROM structures") == 0

    partial = ok(await import_csv(client, operator, text, partial="true"), 201)
    assert partial["created"] == 2
    assert [e["line"] for e in partial["errors"]] == [3, 5, 6, 7]
    assert await db.fetchval("SELECT count(*) FROM structures") == 2
    reze = ok(await client.get(f"/v1/structures/{partial['structure_ids'][0]}", headers=operator))
    assert reze["sites"][0]["contacts"] == [
        {"channel": "email", "value": "accueil@mairie-reze.fr"},
        {"channel": "phone", "value": "+33240844300"},
    ]
    # Importing the same file again: every row is now a duplicate of an existing structure.
    again = assert_problem(await import_csv(client, operator, CSV_HEADER + CSV_GOOD_1), 422)
    assert again["errors"][0]["line"] == 2
    assert str(partial["structure_ids"][0]) in again["errors"][0]["reason"]


async def test_csv_import_format_errors(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    ok_file = ok(
        await import_csv(
            client, operator, "name,type,territory_code\nMairie de Rezé,city_hall,44143\n"
        ),
        201,
    )
    assert ok_file["created"] == 1
    assert_problem(await import_csv(client, operator, "name;type\nx;city_hall\n"), 422)
    assert_problem(await import_csv(client, operator, "name;type;territory_code;colour\n"), 422)
    assert_problem(await import_csv(client, operator, CSV_HEADER), 422)
    wrong_type = await client.post("/v1/structures/import", json={"name": "x"}, headers=operator)
    assert_problem(wrong_type, 415)
    latin1 = await client.post(
        "/v1/structures/import",
        content="name;type;territory_code\nMairie de Rezé;city_hall;44143\n".encode("latin-1"),
        headers={**operator, "content-type": "text/csv"},
    )
    assert_problem(latin1, 415)


async def test_structure_access(
    client: httpx.AsyncClient, operator: dict[str, str], token: Headers
) -> None:
    mine = await new_structure(client, operator)
    other = await new_structure(client, operator, name="Mairie de Rezé", commune_code=REZE)
    own = token("structure", subject=mine["id"])
    assert ok(await client.get(f"/v1/structures/{mine['id']}", headers=own))["id"] == mine["id"]
    # Another structure does not exist for this caller; a role without access is a 403.
    assert_problem(await client.get(f"/v1/structures/{other['id']}", headers=own), 404)
    assert_problem(await client.get(f"/v1/structures/{other['id']}", headers=token("auditor")), 403)
    assert_problem(await client.get("/v1/structures", headers=own), 403)
    assert_problem(
        await client.post(
            "/v1/structures",
            json={"name": "M", "type": "library", "commune_code": NANTES},
            headers=own,
        ),
        403,
    )
    assert_problem(await client.get(f"/v1/structures/{uuid.uuid4()}", headers=operator), 404)
    assert_problem(await client.get("/v1/structures/not-a-uuid", headers=operator), 422)
