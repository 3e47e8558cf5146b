"""Territories against a real PostgreSQL: the national import (done once per session into the
template database), re-imports, a newer vintage, search, lists, lookups and bad input."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.registry.app import create_app
from services.registry.settings import RegistrySettings
from services.registry.territories import service
from services.registry.territories.rules import (
    DataSetError,
    parse_dataset,
    query_key,
    search_key,
)
from services.registry.territories.sources import BUNDLED_DIR, read_bundled
from shared.db import create_engine, create_session_factory, transaction
from tests.helpers import running

Headers = Callable[..., dict[str, str]]
FILES = ("regions", "departements", "communes", "epci")
SAINT_ETIENNE = "42218"  # 173,136 inhabitants in 2026


@pytest.fixture
async def client(make_settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(make_settings("registry"))) as client:
        yield client


@pytest.fixture
def operator(token: Headers) -> dict[str, str]:
    return token("operator")


@pytest.fixture
def reader(token: Headers) -> dict[str, str]:
    return token("structure")


async def fetch(database_url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "registry"})
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def load(name: str) -> Any:
    with gzip.open(BUNDLED_DIR / f"{name}.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


# --- pure rules -----------------------------------------------------------------------------


def test_search_key_ignores_case_accents_and_punctuation() -> None:
    assert search_key("Saint-Étienne") == "saint etienne"
    assert search_key("  SAINT   étienne ") == "saint etienne"
    assert search_key("L'Haÿ-les-Roses") == "l hay les roses"
    assert search_key("Œuilly") == "oeuilly"
    assert search_key("--'") == ""
    assert query_key("St-Étienne") == "saint etienne"
    assert query_key("ste foy les lyon") == "sainte foy les lyon"
    assert query_key("") == ""


def test_a_data_set_with_broken_links_is_refused_whole() -> None:
    raw = {
        "regions": [{"code": "84", "nom": "Auvergne-Rhône-Alpes"}],
        "departements": [{"code": "42", "nom": "Loire", "region": "84"}],
        "communes": [
            {"code": "42218", "nom": "Saint-Étienne", "type": "commune-actuelle",
             "departement": "42", "region": "84", "population": 1},
            {"code": "42999", "nom": "Nowhere", "type": "commune-actuelle",
             "departement": "99", "region": "84"},
            {"code": "42001", "nom": "Part", "type": "commune-deleguee",
             "departement": "42", "region": "84", "chefLieu": "42000"},
        ],
        "epci": [{"code": "200000001", "nom": "CC X", "type": "CC",
                  "membres": [{"code": "42218"}, {"code": "42404"}]}],
    }  # fmt: skip
    with pytest.raises(DataSetError) as caught:
        parse_dataset(2026, {name: json.dumps(records).encode() for name, records in raw.items()})
    text = " | ".join(caught.value.errors)
    assert "42999 names unknown département 99" in text
    assert "commune-deleguee 42001 has no current parent commune (42000)" in text
    assert "lists 42404, which is not a current commune" in text


def test_bundled_data_set_reads_whole() -> None:
    data = read_bundled()
    assert data.vintage == 2026
    assert len(data.communes) + len(data.parts) == 37_590
    assert {p.kind for p in data.parts} == {
        "commune-deleguee",
        "commune-associee",
        "arrondissement-municipal",
    }


# --- the national import --------------------------------------------------------------------


async def test_national_import_matches_the_reference_counts(
    database_url: str, client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    """The template database holds the bundled 2026 vintage, imported once per session."""
    (counts,) = await fetch(
        database_url,
        """
        SELECT
          (SELECT count(*) FROM communes) AS communes,
          (SELECT count(*) FROM commune_parts) AS parts,
          (SELECT count(*) FROM communes WHERE population IS NULL) AS without_population,
          (SELECT sum(population) FROM communes) AS total,
          (SELECT count(*) FROM epcis) AS epcis,
          (SELECT count(*) FROM epci_members) AS members,
          (SELECT count(*) FROM departements) AS departements,
          (SELECT count(*) FROM regions) AS regions,
          (SELECT count(*) FROM territory_populations WHERE kind = 'commune' AND vintage = 2026)
            AS commune_populations
        """,
    )
    assert counts["communes"] == 34_969
    assert counts["communes"] + counts["parts"] == 37_590
    assert counts["without_population"] == 12
    assert counts["total"] == 68_952_941
    assert counts["epcis"] == 1_255
    assert counts["members"] == 34_871
    assert counts["departements"] == 109
    assert counts["regions"] == 26
    assert counts["commune_populations"] == 34_969 - 12

    bands = await fetch(
        database_url,
        """
        SELECT count(*) FILTER (WHERE population < 2000) AS a,
               count(*) FILTER (WHERE population BETWEEN 2000 AND 3499) AS b,
               count(*) FILTER (WHERE population BETWEEN 3500 AND 9999) AS c,
               count(*) FILTER (WHERE population BETWEEN 10000 AND 19999) AS d,
               count(*) FILTER (WHERE population BETWEEN 20000 AND 49999) AS e,
               count(*) FILTER (WHERE population BETWEEN 50000 AND 99999) AS f,
               count(*) FILTER (WHERE population >= 100000) AS g
        FROM communes
        """,
    )
    assert tuple(bands[0]) == (29_393, 2_274, 2_223, 575, 357, 93, 42)

    # The run's own report, as the operator reads it.
    response = await client.get("/v1/territories/imports", headers=operator)
    assert response.status_code == 200, response.text
    (run,) = response.json()["items"]
    assert run["vintage"] == 2026
    assert run["source"] == "bundled"
    assert run["communes"] == {
        "received": 34_969,
        "created": 34_969,
        "updated": 0,
        "unchanged": 0,
        "without_population": 12,
    }
    assert run["commune_parts"]["created"] == 2_105 + 471 + 45
    assert run["epcis"]["created"] == 1_255
    assert run["departements"]["created"] == 109
    assert run["regions"]["created"] == 26
    assert run["memberships_created"] == 34_871
    assert run["seconds"] < 60


async def test_reimporting_the_same_vintage_changes_nothing(
    client: httpx.AsyncClient, operator: dict[str, str], database_url: str
) -> None:
    before = await fetch(database_url, "SELECT xmin::text AS x, code FROM communes ORDER BY code")
    response = await client.post("/v1/territories/imports", headers=operator)  # no body
    assert response.status_code == 201, response.text
    report = response.json()
    for kind, received in (
        ("regions", 26),
        ("departements", 109),
        ("communes", 34_969),
        ("commune_parts", 2_621),
        ("epcis", 1_255),
    ):
        assert report[kind]["received"] == received
        assert report[kind]["created"] == 0
        assert report[kind]["updated"] == 0
        assert report[kind]["unchanged"] == received
    assert report["memberships_created"] == report["memberships_removed"] == 0
    # Not one row rewritten.
    after = await fetch(database_url, "SELECT xmin::text AS x, code FROM communes ORDER BY code")
    assert before == after


async def test_a_newer_vintage_updates_populations_and_keeps_the_old_ones(
    client: httpx.AsyncClient, operator: dict[str, str], tmp_path: Path
) -> None:
    communes = load("communes")
    changed = {SAINT_ETIENNE: 180_000, "44109": 330_000}  # Saint-Étienne, Nantes
    for record in communes:
        if record["type"] == "commune-actuelle" and record["code"] in changed:
            record["population"] = changed[record["code"]]
        if record["code"] == "80829" and record["type"] == "commune-actuelle":
            record["nom"] = "Y-sur-Somme"  # a renamed commune counts as updated too
    gone = "01001"  # L'Abergement-Clémenciat, as if merged away: not in the newer vintage
    communes = [c for c in communes if c["code"] != gone]
    epcis = load("epci")
    for epci in epcis:  # Nantes Métropole loses a member; the gone commune leaves its EPCI
        if epci["code"] == "244400404":
            epci["membres"] = [m for m in epci["membres"] if m["code"] != "44035"]
        epci["membres"] = [m for m in epci["membres"] if m["code"] != gone]
    files: dict[str, Any] = {
        "regions": json.dumps(load("regions")).encode(),  # plain JSON
        "departements": gzip.compress(json.dumps(load("departements")).encode()),
        "communes": gzip.compress(json.dumps(communes).encode()),
        "epci": gzip.compress(json.dumps(epcis).encode()),
    }
    response = await client.post(
        "/v1/territories/imports/upload",
        data={"vintage": "2027"},
        files={name: (f"{name}.json", content) for name, content in files.items()},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["vintage"] == 2027
    assert report["source"] == "upload"
    assert report["communes"]["received"] == 34_968
    assert report["communes"]["created"] == 0
    assert report["communes"]["updated"] == 3
    assert report["communes"]["unchanged"] == 34_968 - 3
    assert report["departements"]["updated"] == 3  # Loire, Loire-Atlantique and Ain
    assert report["regions"]["updated"] == 2  # Auvergne-Rhône-Alpes and Pays de la Loire
    assert report["epcis"]["updated"] == 0
    assert report["memberships_removed"] == 2
    # The gone commune is no current commune any more, nor in a search.
    problem(await client.get(f"/v1/territories/communes/{gone}", headers=operator), 404)
    response = await client.get(
        "/v1/territories/communes", params={"q": "abergement clemenciat"}, headers=operator
    )
    assert response.json()["items"] == []

    response = await client.get(f"/v1/territories/communes/{SAINT_ETIENNE}", headers=operator)
    body = response.json()
    assert body["population"] == 180_000
    assert body["vintage"] == 2027
    assert body["populations"] == [
        {"vintage": 2026, "population": 173_136},
        {"vintage": 2027, "population": 180_000},
    ]
    loire = (await client.get("/v1/territories/departements/42", headers=operator)).json()
    assert loire["vintage"] == 2027

    # An older vintage no longer overwrites the newer one.
    response = await client.post(
        "/v1/territories/imports", json={"vintage": 2026}, headers=operator
    )
    assert problem(response, 409)["latest_vintage"] == 2027


def test_cli_imports_a_folder_of_plain_json(
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from barometer_cli.main import main

    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    folder = tmp_path / "2026"
    folder.mkdir()
    for name in FILES:
        (folder / f"{name}.json").write_text(json.dumps(load(name)), encoding="utf-8")
    # The command refuses a folder without its vintage, and says why.
    assert main(["registry", "import-territories", str(folder)]) == 2
    assert "--vintage" in capsys.readouterr().out
    assert main(["registry", "import-territories", str(folder), "--vintage", "2026"]) == 0
    out = capsys.readouterr().out
    assert f"territories 2026 ({folder}) imported in" in out
    assert "34969 received       0 created       0 updated   34969 unchanged" in out
    (folder / "epci.json").write_text("[{]", encoding="utf-8")
    assert main(["registry", "import-territories", str(folder), "--vintage", "2026"]) == 2
    assert "epci: malformed JSON" in capsys.readouterr().out


# --- lookups the rest of the registry uses --------------------------------------------------


async def test_places_come_from_the_latest_vintage(database_url: str) -> None:
    engine = create_engine(RegistrySettings(environment="test", database_url=database_url))
    try:
        async with transaction(create_session_factory(engine)) as session:
            commune = await service.commune(session, SAINT_ETIENNE)
            assert commune is not None
            assert (commune.name, commune.population, commune.vintage) == (
                "Saint-Étienne",
                173_136,
                2026,
            )
            assert (commune.departement_code, commune.region_code) == ("42", "84")
            assert await service.commune(session, "01120") is None  # associated commune
            part = await service.commune_part(session, "01120")
            assert part is not None
            assert (part.kind, part.name, part.parent_code) == (
                "commune-associee",
                "Cordieux",
                "01262",
            )
            loire = await service.departement(session, "42")
            assert loire is not None
            (total,) = await fetch(
                database_url, "SELECT sum(population) FROM communes WHERE departement_code = '42'"
            )
            assert loire.population == total[0]
            assert loire.population is not None
            region = await service.region(session, "84")
            assert region is not None
            assert region.population is not None
            assert region.population > loire.population
            nantes = await service.epci(session, "244400404")
            assert nantes is not None
            assert nantes.name == "Nantes Métropole"
            assert len(nantes.member_codes) == 24
            assert "44109" in nantes.member_codes
            assert await service.epci(session, "000000000") is None
    finally:
        await engine.dispose()


# --- search and lists -----------------------------------------------------------------------


async def test_search_ignores_case_accents_and_hyphens(
    client: httpx.AsyncClient, reader: dict[str, str]
) -> None:
    for q in ("saint etienne", "SAINT-ÉTIENNE", "Saint Étienne", "saint-etienne", "St-Etienne"):
        response = await client.get("/v1/territories/communes", params={"q": q}, headers=reader)
        assert response.status_code == 200, response.text
        first = response.json()["items"][0]
        assert (first["code"], first["name"]) == (SAINT_ETIENNE, "Saint-Étienne")
    response = await client.get(
        "/v1/territories/communes",
        params={"q": "saint etienne", "departement": "76"},
        headers=reader,
    )
    items = response.json()["items"]
    assert items[0]["name"] == "Saint-Étienne-du-Rouvray"
    assert {i["departement_code"] for i in items} == {"76"}
    # A one-letter commune is found first by its whole name.
    response = await client.get("/v1/territories/communes", params={"q": "y"}, headers=reader)
    assert response.json()["items"][0]["code"] == "80829"


async def test_search_pages_walk_the_whole_list_once(
    client: httpx.AsyncClient, reader: dict[str, str]
) -> None:
    params: dict[str, Any] = {"q": "saint", "departement": "42", "limit": 100}
    whole = (await client.get("/v1/territories/communes", params=params, headers=reader)).json()
    assert whole["next_cursor"] is None
    assert len(whole["items"]) == 91
    seen: list[str] = []
    params["limit"] = 10
    while True:
        page = (await client.get("/v1/territories/communes", params=params, headers=reader)).json()
        seen += [i["code"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [i["code"] for i in whole["items"]]

    def order(item: dict[str, Any]) -> tuple[int, int, str]:
        name = search_key(item["name"])
        rank = 0 if name == "saint" else 1 if name.startswith("saint") else 2
        return (rank, -(item["population"] or -1), item["code"])

    assert whole["items"] == sorted(whole["items"], key=order)
    assert search_key(whole["items"][-1]["name"]).startswith("saint") is False  # e.g. Bourg-…


async def test_listing_without_search_pages_by_population(
    client: httpx.AsyncClient, reader: dict[str, str], database_url: str
) -> None:
    expected = await fetch(
        database_url,
        "SELECT code FROM communes WHERE departement_code = '2A' "
        "ORDER BY coalesce(population, -1) DESC, code",
    )
    seen: list[str] = []
    params: dict[str, Any] = {"departement": "2A", "limit": 50}
    while True:
        page = (await client.get("/v1/territories/communes", params=params, headers=reader)).json()
        seen += [i["code"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [r["code"] for r in expected]
    assert len(seen) == 124
    assert seen[0] == "2A004"  # Ajaccio


async def test_former_communes_are_found_with_their_commune(
    client: httpx.AsyncClient, reader: dict[str, str]
) -> None:
    response = await client.get(
        "/v1/territories/commune-parts", params={"q": "cordieux"}, headers=reader
    )
    assert response.status_code == 200, response.text
    (cordieux,) = response.json()["items"]
    assert cordieux == {
        "kind": "commune-associee",
        "code": "01120",
        "name": "Cordieux",
        "parent_code": "01262",
        "parent_name": "Montluel",
        "population": None,
    }
    seen: list[tuple[str, str]] = []
    params: dict[str, Any] = {"departement": "75", "limit": 7}
    while True:
        page = (
            await client.get("/v1/territories/commune-parts", params=params, headers=reader)
        ).json()
        seen += [(p["code"], p["kind"]) for p in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 20  # Paris's arrondissements, every one once
    assert {kind for _, kind in seen} == {"arrondissement-municipal"}


async def test_lists_for_the_frontend(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    response = await client.get(
        "/v1/territories/departements", params={"region": "84"}, headers=reader
    )
    codes = [d["code"] for d in response.json()["items"]]
    assert codes == ["01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"]

    regions: list[str] = []
    params: dict[str, Any] = {"limit": 10}
    while True:
        page = (await client.get("/v1/territories/regions", params=params, headers=reader)).json()
        regions += [r["code"] for r in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert len(regions) == 26
    assert regions == sorted(regions)

    response = await client.get(
        "/v1/territories/epcis", params={"departement": "44", "type": "METRO"}, headers=reader
    )
    assert [e["siren"] for e in response.json()["items"]] == ["244400404"]
    response = await client.get("/v1/territories/epcis/244400404", headers=reader)
    members = response.json()["members"]
    assert members[0]["code"] == "44109"  # Nantes, the largest
    assert len(members) == 24

    response = await client.get("/v1/territories/communes/44109", headers=reader)
    body = response.json()
    assert body["epci"] == {"siren": "244400404", "name": "Nantes Métropole", "type": "METRO"}
    response = await client.get("/v1/territories/communes/13055", headers=reader)
    assert (
        len([p for p in response.json()["parts"] if p["kind"] == "arrondissement-municipal"]) == 16
    )
    response = await client.get("/v1/territories/communes/01015", headers=reader)
    assert {p["name"] for p in response.json()["parts"]} >= {"Arbignieu"}


# --- bad input and roles --------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "x" * 101},
        {"q": "--"},
        {"departement": "ABC"},
        {"limit": 0},
        {"limit": 101},
        {"cursor": "not-a-cursor"},
        {"cursor": "WyJhIl0"},  # a cursor of another list (["a"])
    ],
)
async def test_bad_search_parameters_are_422(
    client: httpx.AsyncClient, reader: dict[str, str], params: dict[str, Any]
) -> None:
    response = await client.get("/v1/territories/communes", params=params, headers=reader)
    problem(response, 422)


async def test_unknown_commune_and_part_are_404(
    client: httpx.AsyncClient, reader: dict[str, str]
) -> None:
    problem(await client.get("/v1/territories/communes/99999", headers=reader), 404)
    body = problem(await client.get("/v1/territories/communes/01120", headers=reader), 404)
    assert body["parent_code"] == "01262"
    problem(await client.get("/v1/territories/epcis/000000000", headers=reader), 404)
    problem(await client.get("/v1/territories/departements/00", headers=reader), 404)


async def test_bad_imports_are_refused_and_write_nothing(
    client: httpx.AsyncClient, operator: dict[str, str], database_url: str
) -> None:
    body = problem(
        await client.post("/v1/territories/imports", json={"vintage": 2031}, headers=operator),
        422,
    )
    assert "no bundled data set for vintage 2031" in body["detail"]
    problem(
        await client.post(
            "/v1/territories/imports",
            content=b'{"vintage": ',
            headers={**operator, "content-type": "application/json"},
        ),
        400,
    )
    files = {name: (f"{name}.json", json.dumps(load(name)).encode()) for name in FILES}

    async def upload(vintage: str, communes: bytes) -> dict[str, Any]:
        response = await client.post(
            "/v1/territories/imports/upload",
            data={"vintage": vintage},
            files={**files, "communes": ("communes.json", communes)},
            headers=operator,
        )
        return problem(response, 422)

    body = await upload("2027", b'[{"code": "01001", "nom": ')
    assert "communes: malformed JSON" in body["errors"][0]
    body = await upload("2027", json.dumps([{"code": "01001"}]).encode())
    assert any("communes: record 0" in e for e in body["errors"])
    body = await upload("2027", gzip.compress(b"[]")[:10])  # a truncated gzip file
    assert "communes: not a readable gzip file" in body["errors"][0]
    body = await upload("1850", json.dumps(load("communes")).encode())
    assert "vintage 1850 is outside" in body["detail"]
    (runs,) = await fetch(database_url, "SELECT count(*) FROM territory_imports")
    assert runs[0] == 1  # only the template's
    (latest,) = await fetch(database_url, "SELECT max(vintage) FROM communes")
    assert latest[0] == 2026


@pytest.mark.parametrize("role", ["structure", "auditor", "partner"])
async def test_imports_are_for_the_operator_only(
    client: httpx.AsyncClient, token: Headers, role: str
) -> None:
    headers = token(role)
    problem(await client.post("/v1/territories/imports", json={}, headers=headers), 403)
    problem(await client.get("/v1/territories/imports", headers=headers), 403)
    problem(await client.post("/v1/territories/imports", json={}), 401)
