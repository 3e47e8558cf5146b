"""`Idempotency-Key` on the registry's POSTs (shared.idempotency), and the cursor codec
(shared.pagination)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime

import asyncpg
import httpx
import pytest

from shared.errors import ProblemError
from shared.pagination import decode_cursor, encode_cursor, paginate
from tests.registry.conftest import NANTES, Headers, assert_problem, new_edition, ok

STRUCTURE = {"name": "Mairie de Nantes", "type": "city_hall", "commune_code": NANTES}


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def test_a_replay_returns_the_first_answer_and_creates_nothing(
    client: httpx.AsyncClient, operator: dict[str, str], db: asyncpg.Connection
) -> None:
    key = str(uuid.uuid4())
    first = await client.post("/v1/structures", json=STRUCTURE, headers=keyed(operator, key))
    assert first.status_code == 201
    # The same request, spelled differently (spacing, key order): the same answer.
    respelled = json.dumps(dict(reversed(list(STRUCTURE.items()))), indent=2).encode()
    again = await client.post(
        "/v1/structures",
        content=respelled,
        headers={**keyed(operator, key), "content-type": "application/json"},
    )
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await db.fetchval("SELECT count(*) FROM structures") == 1
    # Without the key the duplicate is refused as usual.
    assert_problem(await client.post("/v1/structures", json=STRUCTURE, headers=operator), 409)

    other_body = await client.post(
        "/v1/structures", json={**STRUCTURE, "name": "Autre"}, headers=keyed(operator, key)
    )
    assert assert_problem(other_body, 409)["type"].endswith("/idempotency-key-reused")
    other_path = await client.post(
        "/v1/editions", json={"preset": "2017"}, headers=keyed(operator, key)
    )
    assert_problem(other_path, 409)


async def test_keys_are_scoped_per_caller_and_failures_are_not_stored(
    client: httpx.AsyncClient, token: Headers, db: asyncpg.Connection
) -> None:
    key = "same-key"
    alice = token("operator", subject="alice")
    bob = token("operator", subject="bob")
    ok(await client.post("/v1/editions", json={"preset": "2017"}, headers=keyed(alice, key)), 201)
    ok(await client.post("/v1/editions", json={"preset": "2020"}, headers=keyed(bob, key)), 201)
    assert await db.fetchval("SELECT count(*) FROM editions") == 2

    retry = "fix-and-retry"
    bad = await client.post(
        "/v1/editions",
        json={"preset": "2017", "year": 2018, "max_accepted": 0},
        headers=keyed(alice, retry),
    )
    assert_problem(bad, 422)
    conflict = await client.post(
        "/v1/editions", json={"preset": "2017"}, headers=keyed(alice, retry)
    )
    assert_problem(conflict, 409)  # 2017 exists: a failure, not stored either
    fixed = await client.post(
        "/v1/editions",
        json={"preset": "2017", "year": 2018, "number": 7},
        headers=keyed(alice, retry),
    )
    assert fixed.status_code == 201
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 3
    assert_problem(
        await client.post("/v1/editions", json={"preset": "2017"}, headers=keyed(alice, "k" * 256)),
        400,
    )


async def test_concurrent_twins_apply_once(
    client: httpx.AsyncClient, operator: dict[str, str], db: asyncpg.Connection
) -> None:
    edition = await new_edition(client, operator)
    structure = ok(await client.post("/v1/structures", json=STRUCTURE, headers=operator), 201)
    key = str(uuid.uuid4())
    url = f"/v1/editions/{edition['id']}/registrations"
    responses = await asyncio.gather(
        *(
            client.post(url, json={"structure_id": structure["id"]}, headers=keyed(operator, key))
            for _ in range(4)
        )
    )
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json()["id"] for r in responses}) == 1
    assert await db.fetchval("SELECT count(*) FROM registrations") == 1


def test_cursors_round_trip_and_refuse_garbage() -> None:
    key = [
        2026,
        "Mairie",
        uuid.UUID(int=7),
        datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        date(2026, 1, 2),
    ]
    assert decode_cursor(encode_cursor(key), 5) == key
    for garbage in ("", "!!!", encode_cursor([1]), "eyJ0IjogMX0"):
        with pytest.raises(ProblemError) as caught:
            decode_cursor(garbage, 2)
        assert caught.value.status == 400
    rows = list(range(5))
    assert paginate(rows, 5, lambda r: (r,)) == (rows, None)
    page, cursor = paginate(rows, 4, lambda r: (r,))
    assert page == [0, 1, 2, 3]
    assert cursor is not None
    assert decode_cursor(cursor, 1) == [3]
