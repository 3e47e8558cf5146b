"""Strata over HTTP: the presets place real communes and territories in the right strata;
counts of accepted structures; re-derivation (rules or populations changed) with an event per
change; unmatched structures listed."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.registry.conftest import (
    assert_problem,
    new_edition,
    new_structure,
    ok,
    outbox_subjects,
    register,
    url_of,
)

DATA = Path(__file__).resolve().parents[2] / "services" / "registry" / "data"

# The 2020 laureates (seed) in their trophy categories, with real territories.
LAUREATES_2020: list[tuple[dict[str, Any], str]] = [
    ({"name": "Hôtel de ville de Villeurbanne", "type": "city_hall", "commune_code": "69266"}, "cities-50k-plus"),
    ({"name": "Hôtel de ville des Sables d'Olonne", "type": "city_hall", "commune_code": "85194"}, "cities-20k-50k"),
    ({"name": "Hôtel de ville de Pagny-sur-Moselle", "type": "city_hall", "commune_code": "54415"}, "cities-under-20k"),
    ({"name": "Grand Besançon Métropole", "type": "intercommunality", "epci_siren": "242500361"}, "intercommunalities"),
    ({"name": "Haute-Garonne", "type": "departement", "departement_code": "31"}, "departements"),
    ({"name": "Hauts-de-France", "type": "region", "region_code": "32"}, "regions"),
    ({"name": "Maison des services de Viverols", "type": "france_services", "commune_code": "63465"}, "france-services"),
    ({"name": "Office de Tourisme du Grand Dax", "type": "tourist_office", "commune_code": "40088"}, "development-attractiveness"),
    ({"name": "CCAS de Saumur", "type": "ccas", "commune_code": "49328"}, "social-care-health"),
]  # fmt: skip

# Real city halls in each 2017 band (legal populations of the bundled vintage).
CITIES_2017 = [
    ("Clisson", "44043", 7_452, "cities-3500-10k"),
    ("Guérande", "44069", 16_804, "cities-10k-20k"),
    ("Rezé", "44143", 43_556, "cities-20k-50k"),
    ("Saint-Nazaire", "44184", 74_568, "cities-50k-100k"),
    ("Nantes", "44109", 327_734, "cities-100k-plus"),
]


async def test_the_2020_preset_places_the_laureates_in_their_categories(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    edition = await new_edition(client, operator, preset="2020")
    for body, expected in LAUREATES_2020:
        structure = await new_structure(client, operator, **{"commune_code": None, **body})
        registration = await register(client, operator, edition, structure)
        assert registration["stratum"]["code"] == expected, body["name"]
        ok(await client.post(url_of(registration) + "/accept", headers=operator))
    strata = ok(await client.get(f"/v1/editions/{edition['id']}/strata", headers=operator))
    assert [(s["code"], s["structures"]) for s in strata["items"]] == [
        (code, 1) for _, code in LAUREATES_2020
    ]


async def test_the_2017_preset_places_real_city_halls_in_their_bands(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    edition = await new_edition(client, operator, preset="2017", year=2026, number=15)
    for name, commune, population, expected in CITIES_2017:
        structure = await new_structure(
            client, operator, name=f"Mairie de {name}", commune_code=commune
        )
        assert structure["population"] == population
        registration = await register(client, operator, edition, structure)
        assert registration["stratum"]["code"] == expected, name
        if expected != "cities-20k-50k":
            ok(await client.post(url_of(registration) + "/accept", headers=operator))
    metropole = await new_structure(
        client, operator, name="Nantes Métropole", type="intercommunality", commune_code=None,
        epci_siren="244400404",
    )  # fmt: skip
    registration = await register(client, operator, edition, metropole)
    assert registration["stratum"]["code"] == "intercommunalities-5k-plus"
    counts = ok(await client.get(f"/v1/editions/{edition['id']}/strata", headers=operator))
    assert {s["code"]: s["structures"] for s in counts["items"]} == {
        "cities-3500-10k": 1, "cities-10k-20k": 1, "cities-20k-50k": 0, "cities-50k-100k": 1,
        "cities-100k-plus": 1, "intercommunalities-5k-plus": 0, "other-public-services": 0,
    }  # fmt: skip
    first = ok(
        await client.get(
            f"/v1/editions/{edition['id']}/strata", params={"limit": 4}, headers=operator
        )
    )
    rest = ok(
        await client.get(
            f"/v1/editions/{edition['id']}/strata",
            params={"limit": 4, "cursor": first["next_cursor"]},
            headers=operator,
        )
    )
    assert first["items"] + rest["items"] == counts["items"]


async def test_new_rules_rederive_strata_with_an_event_per_change(
    client: httpx.AsyncClient, operator: dict[str, str], db: asyncpg.Connection
) -> None:
    edition = await new_edition(client, operator, preset="2020")
    base = f"/v1/editions/{edition['id']}/strata"
    library = await new_structure(client, operator, name="Médiathèque de Nantes", type="library")
    unmatched_registration = await register(client, operator, edition, library)
    assert unmatched_registration["stratum"] is None  # no 2020 category for libraries
    listed = ok(await client.get(f"{base}/unmatched", headers=operator))["items"]
    assert [(u["structure_id"], u["structure_type"]) for u in listed] == [
        (library["id"], "library")
    ]
    cannot = assert_problem(
        await client.post(url_of(unmatched_registration) + "/accept", headers=operator), 422
    )
    assert cannot["field"] == "stratum"
    # Every structure of the registry, registered or not, that no 2020 rule places.
    museum = await new_structure(client, operator, name="Musée", type="culture_sport")
    await new_structure(client, operator, name="CCAS de Nantes", type="ccas")
    scanned = ok(
        await client.get(f"{base}/unmatched", params={"scope": "structures", "limit": 1},
                         headers=operator)
    )  # fmt: skip
    rest = ok(
        await client.get(
            f"{base}/unmatched",
            params={"scope": "structures", "cursor": scanned["next_cursor"]},
            headers=operator,
        )
    )
    everything = scanned["items"] + rest["items"]
    assert sorted((u["structure_id"], u["status"]) for u in everything) == sorted(
        [(library["id"], "pending"), (museum["id"], None)]
    )
    assert rest["next_cursor"] is None
    reze = await new_structure(client, operator, name="Mairie de Rezé", commune_code="44143")
    reze_registration = await register(client, operator, edition, reze)
    assert reze_registration["stratum"]["code"] == "cities-20k-50k"

    rules = [
        {"code": "cities-40k-plus", "label": "Cities of 40,000 or more", "structure_types": ["city_hall"],
         "min_population": 40_000},
        {"code": "cities", "label": "Other cities", "structure_types": ["city_hall"]},
        {"code": "culture", "label": "Culture", "structure_types": ["library", "culture_sport"]},
    ]  # fmt: skip
    result = ok(await client.put(f"{base}/rules", json={"rules": rules}, headers=operator))
    assert {(c["structure_id"], c["from_code"], c["to_code"]) for c in result["changes"]} == {
        (library["id"], None, "culture"),
        (reze["id"], "cities-20k-50k", "cities-40k-plus"),
    }
    assert result["unmatched"] == 0
    assert ok(await client.get(f"{base}/unmatched", headers=operator))["items"] == []
    events = await outbox_subjects(db, "registry.structure.stratum_changed.v1")
    assert sorted((e["structure_id"], e["to_code"]) for _, e in events) == sorted(
        [(library["id"], "culture"), (reze["id"], "cities-40k-plus")]
    )
    # The same rules again change nothing and announce nothing.
    again = ok(await client.put(f"{base}/rules", json={"rules": rules}, headers=operator))
    assert again["changes"] == []
    assert len(await outbox_subjects(db, "registry.structure.stratum_changed.v1")) == 2

    # A new population vintage: Rezé falls under 40,000 and changes stratum.
    await db.execute("UPDATE communes SET population = 39999 WHERE code = '44143'")
    refreshed = ok(await client.post(f"{base}/rederive", headers=operator))
    assert [(c["structure_id"], c["to_code"]) for c in refreshed["changes"]] == [
        (reze["id"], "cities")
    ]
    assert (
        ok(await client.get(f"/v1/structures/{reze['id']}", headers=operator))["population"]
        == 39_999
    )
    events = await outbox_subjects(db, "registry.structure.stratum_changed.v1")
    assert events[-1][1]["population"] == 39_999
    assert events[-1][1]["from_code"] == "cities-40k-plus"

    bad = [{"code": "a", "label": "A", "structure_types": ["city_hall"], "min_population": 10,
            "max_population": 10, "max_inclusive": False}]  # fmt: skip
    assert (
        assert_problem(
            await client.put(f"{base}/rules", json={"rules": bad}, headers=operator), 422
        )["field"]
        == "rules[0].max_population"
    )
    twice = [rules[0], rules[0]]
    assert_problem(await client.put(f"{base}/rules", json={"rules": twice}, headers=operator), 422)
    for step in ("registration_closed", "fieldwork"):
        ok(
            await client.post(
                f"/v1/editions/{edition['id']}/transitions", json={"to": step}, headers=operator
            )
        )
    assert_problem(await client.put(f"{base}/rules", json={"rules": rules}, headers=operator), 409)


async def test_a_territory_import_moves_strata_with_the_new_populations(
    client: httpx.AsyncClient, operator: dict[str, str], db: asyncpg.Connection
) -> None:
    """Guérande grows past 20,000 in a newer vintage: its registration in an open edition moves
    to the next band in the import's transaction, announced once; a closed edition keeps its."""
    edition = await new_edition(client, operator, preset="2017", year=2026, number=15)
    structure = await new_structure(client, operator, name="Mairie de Guérande",
                                    commune_code="44069")  # fmt: skip
    registration = await register(client, operator, edition, structure)
    assert registration["stratum"]["code"] == "cities-10k-20k"

    def load(name: str) -> Any:
        with gzip.open(DATA / f"{name}.json.gz", "rt", encoding="utf-8") as f:
            return json.load(f)

    communes = load("communes")
    for record in communes:
        if record["code"] == "44069" and record["type"] == "commune-actuelle":
            record["population"] = 21_000
    files = {name: json.dumps(load(name) if name != "communes" else communes).encode()
             for name in ("regions", "departements", "communes", "epci")}  # fmt: skip
    before = len(await outbox_subjects(db, "registry.structure.stratum_changed"))
    response = await client.post(
        "/v1/territories/imports/upload", data={"vintage": "2027"},
        files={name: (f"{name}.json", body) for name, body in files.items()}, headers=operator,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["strata_changed"] == 1
    moved = ok(await client.get(url_of(registration), headers=operator))
    assert moved["stratum"]["code"] == "cities-20k-50k"
    changes = await outbox_subjects(db, "registry.structure.stratum_changed")
    assert len(changes) == before + 1
    assert changes[-1][1]["from_code"] == "cities-10k-20k"
    assert changes[-1][1]["to_code"] == "cities-20k-50k"
    assert changes[-1][1]["population"] == 21_000
