"""The operator's panel registered (and accepted) in bulk: all or nothing, each refused item
named, the cap checked for the whole panel, one accepted event per registration."""

from __future__ import annotations

import asyncpg
import httpx

from tests.registry.conftest import (
    NANTES,
    assert_problem,
    new_edition,
    new_structure,
    ok,
    outbox_subjects,
)

REZE, ANGERS = "44143", "49007"
V2 = "registry.registration.accepted.v2"


async def test_bulk_registrations_are_all_or_nothing_and_announced(
    client: httpx.AsyncClient, operator: dict[str, str], db: asyncpg.Connection
) -> None:
    edition = await new_edition(client, operator, preset="2020", year=2027, max_accepted=2)
    structures = [
        await new_structure(client, operator, name=f"Mairie {code}", commune_code=code)
        for code in (NANTES, REZE, ANGERS)
    ]
    bulk = f"/v1/editions/{edition['id']}/registrations/bulk"
    items = [{"structure_id": s["id"], "offer": "standard"} for s in structures]

    bad = [*items[:2], {**items[2], "options": ["restitution"]}]  # not with the standard offer
    refused = assert_problem(await client.post(bulk, json={"items": bad}, headers=operator), 422)
    assert [(i["index"], i["structure_id"]) for i in refused["items"]] == [(2, structures[2]["id"])]
    twice = {"items": [items[0], items[0]]}
    assert_problem(await client.post(bulk, json=twice, headers=operator), 422)
    assert_problem(await client.post(bulk, json={"items": []}, headers=operator), 422)
    over = {"items": items, "accept": True}  # 3 for a cap of 2
    assert_problem(await client.post(bulk, json=over, headers=operator), 409)
    listed = ok(await client.get(f"/v1/editions/{edition['id']}/registrations", headers=operator))
    assert listed["items"] == []  # nothing half-written

    made = ok(await client.post(bulk, json={"items": items[:2], "accept": True},
                                headers=operator), 201)["registrations"]  # fmt: skip
    assert [r["status"] for r in made] == ["accepted", "accepted"]
    assert all(r["stratum"] for r in made)
    again = assert_problem(
        await client.post(bulk, json={"items": items[1:]}, headers=operator), 422
    )
    assert [i["index"] for i in again["items"]] == [0]  # already registered
    events = await outbox_subjects(db, V2)
    assert sorted(p["structure_id"] for _, p in events) == sorted(s["id"] for s in structures[:2])

    pending = ok(await client.post(bulk, json={"items": items[2:]}, headers=operator), 201)
    assert pending["registrations"][0]["status"] == "pending"
    assert len(await outbox_subjects(db, V2)) == 2
