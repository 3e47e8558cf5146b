"""Fixtures of the registry tests: the app running against this test's PostgreSQL and NATS,
an operator, and small helpers to build editions, structures and registrations over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from services.registry.app import create_app

Headers = Callable[..., dict[str, str]]
NANTES = "44109"  # 327,734 inhabitants


@pytest.fixture
async def client(make_settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    from tests.helpers import running

    async with running(create_app(make_settings("registry"))) as client:
        yield client


@pytest.fixture
def operator(token: Headers) -> dict[str, str]:
    return token("operator")


@pytest.fixture
async def db(make_settings: Any) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(make_settings("registry").database_url)
    await conn.execute("SET search_path TO registry")
    try:
        yield conn
    finally:
        await conn.close()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def new_edition(
    client: httpx.AsyncClient, operator: dict[str, str], *, open_it: bool = True, **body: Any
) -> dict[str, Any]:
    payload = {"year": 2026, "number": 15, "name": "Baromètre 2026", **body}
    if "preset" in body:
        payload = dict(body)  # the preset gives year, number and name unless overridden
    edition: dict[str, Any] = ok(
        await client.post("/v1/editions", json=payload, headers=operator), 201
    )
    if open_it:
        edition = ok(
            await client.post(
                f"/v1/editions/{edition['id']}/transitions",
                json={"to": "registration_open"},
                headers=operator,
            )
        )
    return edition


async def new_structure(
    client: httpx.AsyncClient, operator: dict[str, str], **body: Any
) -> dict[str, Any]:
    payload = {"name": "Mairie de Nantes", "type": "city_hall", "commune_code": NANTES, **body}
    payload = {k: v for k, v in payload.items() if v is not None}
    created: dict[str, Any] = ok(
        await client.post("/v1/structures", json=payload, headers=operator), 201
    )
    return created


async def register(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    edition: dict[str, Any],
    structure: dict[str, Any],
    **body: Any,
) -> dict[str, Any]:
    created: dict[str, Any] = ok(
        await client.post(
            f"/v1/editions/{edition['id']}/registrations",
            json={"structure_id": structure["id"], **body},
            headers=headers,
        ),
        201,
    )
    return created


def url_of(registration: dict[str, Any]) -> str:
    return f"/v1/editions/{registration['edition_id']}/registrations/{registration['id']}"


async def outbox_subjects(
    db: asyncpg.Connection, prefix: str = ""
) -> list[tuple[str, dict[str, Any]]]:
    rows = await db.fetch("SELECT subject, envelope FROM outbox ORDER BY id")
    return [
        (r["subject"], json.loads(r["envelope"])["payload"])
        for r in rows
        if r["subject"].startswith(prefix)
    ]


async def stream_events(nats_url: str, subject: str) -> list[dict[str, Any]]:
    """Every message of the REGISTRY stream on `subject`, in stream order."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("REGISTRY")
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            if info.state.messages == 0:
                break
            msg = await js.get_msg("REGISTRY", seq)
            if msg.subject == subject:
                found.append(json.loads(msg.data or b"{}"))
        return found
    finally:
        await nc.close()
