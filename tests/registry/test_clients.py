"""OAuth2 clients: created by the operator with scopes, secret shown once and stored as an argon2
hash, rotated, revoked; the client-credentials token endpoint (RFC 6749 §4.4, errors per
§5.2); partners' opt-ins with their event; the access log of every change of access rights."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import asyncpg
import httpx
import jwt
import nats

from shared.auth import ALGORITHM
from tests.helpers import eventually
from tests.registry.conftest import Headers, assert_problem, new_structure, ok

TOKEN = "/v1/oauth/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}", **FORM}


async def new_client(
    client: httpx.AsyncClient, operator: dict[str, str], *scopes: str
) -> dict[str, Any]:
    body = {"name": "Civiliz", "scopes": list(scopes or ["surveys:write"])}
    created: dict[str, Any] = ok(await client.post("/v1/clients", json=body, headers=operator), 201)
    return created


async def test_a_client_gets_a_short_lived_signed_token(
    client: httpx.AsyncClient, operator: dict[str, str], db: asyncpg.Connection
) -> None:
    created = await new_client(client, operator, "surveys:write", "results:read")
    secret = created["client_secret"]
    assert created["scopes"] == ["results:read", "surveys:write"]
    stored = await db.fetchval(
        "SELECT secret_hash FROM clients WHERE client_id = $1", created["client_id"]
    )
    assert stored.startswith("$argon2id$")
    assert secret not in stored
    shown = ok(await client.get(f"/v1/clients/{created['client_id']}", headers=operator))
    assert "client_secret" not in shown
    assert "secret_hash" not in shown

    # HTTP Basic, every scope the client holds.
    r = await client.post(TOKEN, content="grant_type=client_credentials",
                          headers=basic(created["client_id"], secret))  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    answer = r.json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 900
    assert answer["scope"] == "results:read surveys:write"
    header = jwt.get_unverified_header(answer["access_token"])
    jwks = ok(await client.get("/.well-known/jwks.json"))
    assert header["alg"] == ALGORITHM
    assert header["kid"] in {k["kid"] for k in jwks["keys"]}
    assert all("d" not in k for k in jwks["keys"])  # never a private part
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["role"]) == (created["client_id"], "partner")
    assert claims["exp"] - claims["iat"] == 900

    # Form fields, a subset of the scopes; the token opens the registry's API to it.
    r = await client.post(TOKEN, headers=FORM, data={
        "grant_type": "client_credentials", "scope": "surveys:write",
        "client_id": created["client_id"], "client_secret": secret})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "surveys:write"
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert_problem(await client.get("/v1/clients", headers=bearer), 403)


async def test_token_errors_follow_rfc_6749(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    created = await new_client(client, operator)
    cid, secret = created["client_id"], created["client_secret"]

    async def error(expected: int, code: str, **kwargs: Any) -> httpx.Response:
        r = await client.post(TOKEN, **kwargs)
        assert r.status_code == expected, r.text
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"] == code, r.text
        assert r.json()["error_description"]
        return r

    wrong = await error(401, "invalid_client", content="grant_type=client_credentials",
                        headers=basic(cid, "not-the-secret"))  # fmt: skip
    assert wrong.headers["www-authenticate"].startswith("Basic")
    await error(401, "invalid_client", content="grant_type=client_credentials",
                headers=basic("cl_unknown", secret))  # fmt: skip
    await error(401, "invalid_client", content="grant_type=client_credentials", headers=FORM)
    await error(400, "unsupported_grant_type", content="grant_type=password",
                headers=basic(cid, secret))  # fmt: skip
    await error(400, "invalid_request", content="scope=x", headers=basic(cid, secret))
    await error(400, "invalid_scope", content="grant_type=client_credentials&scope=results:read",
                headers=basic(cid, secret))  # fmt: skip
    await error(400, "invalid_request", json={"grant_type": "client_credentials"},
                headers=basic(cid, secret))  # fmt: skip
    both = f"grant_type=client_credentials&client_id={cid}&client_secret={secret}"
    await error(400, "invalid_request", content=both, headers=basic(cid, secret))


async def test_rotation_and_revocation(
    client: httpx.AsyncClient, operator: dict[str, str], token: Headers
) -> None:
    created = await new_client(client, operator)
    cid, old = created["client_id"], created["client_secret"]
    grant = "grant_type=client_credentials"
    assert (await client.post(TOKEN, content=grant, headers=basic(cid, old))).status_code == 200

    rotated = ok(await client.post(f"/v1/clients/{cid}/rotate", headers=operator))
    new = rotated["client_secret"]
    assert new != old
    assert rotated["rotated_at"] is not None
    assert (await client.post(TOKEN, content=grant, headers=basic(cid, old))).status_code == 401
    assert (await client.post(TOKEN, content=grant, headers=basic(cid, new))).status_code == 200

    revoked = ok(await client.post(f"/v1/clients/{cid}/revoke", headers=operator))
    assert revoked["revoked_at"] is not None
    again = ok(await client.post(f"/v1/clients/{cid}/revoke", headers=operator))
    assert again["revoked_at"] == revoked["revoked_at"]
    assert (await client.post(TOKEN, content=grant, headers=basic(cid, new))).status_code == 401
    assert_problem(await client.post(f"/v1/clients/{cid}/rotate", headers=operator), 409)

    # Only the operator manages clients.
    assert_problem(await client.get("/v1/clients", headers=token("structure")), 403)
    assert_problem(await client.post("/v1/clients", json={"name": "x", "scopes": ["results:read"]},
                                     headers=token("partner")), 403)  # fmt: skip
    assert_problem(await client.post("/v1/clients", json={"name": "x", "scopes": ["root"]},
                                     headers=operator), 422)  # fmt: skip
    assert_problem(await client.get("/v1/clients/cl_nobody", headers=operator), 404)

    log = ok(await client.get("/v1/access-log", headers=operator, params={"limit": 2}))
    assert [e["action"] for e in log["items"]] == ["client.revoked", "client.rotated"]
    assert log["items"][0]["target"] == f"client/{cid}"
    assert log["items"][0]["actor_role"] == "operator"
    older = ok(await client.get("/v1/access-log", headers=operator,
                                params={"limit": 2, "cursor": log["next_cursor"]}))  # fmt: skip
    assert [e["action"] for e in older["items"]] == ["client.created"]
    assert older["next_cursor"] is None
    assert_problem(await client.get("/v1/access-log", headers=token("structure")), 403)


async def test_opt_ins_by_the_structure_or_the_operator_are_announced_and_logged(
    client: httpx.AsyncClient, operator: dict[str, str], token: Headers, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        structure = await new_structure(client, operator)
        other = await new_structure(client, operator, name="Mairie de Rezé", commune_code="44143",
                                    siren=None)  # fmt: skip
        partner = await new_client(client, operator, "results:read")
        cid = partner["client_id"]
        own = token("structure", subject=structure["id"])
        url = f"/v1/structures/{structure['id']}/partners/{cid}"

        given = ok(await client.put(url, headers=own))
        assert (given["client_id"], given["granted_by"]) == (cid, structure["id"])
        assert ok(await client.put(url, headers=own))["granted_at"] == given["granted_at"]
        listed = ok(await client.get(f"/v1/structures/{structure['id']}/partners", headers=own))
        assert [o["client_id"] for o in listed["items"]] == [cid]
        # Another structure's opt-ins do not exist for this caller.
        other_url = f"/v1/structures/{other['id']}/partners/{cid}"
        assert_problem(await client.put(other_url, headers=own), 404)
        assert_problem(await client.get(f"/v1/structures/{other['id']}/partners", headers=own), 404)
        assert_problem(await client.put(f"/v1/structures/{structure['id']}/partners/cl_x",
                                        headers=own), 404)  # fmt: skip
        assert_problem(await client.put(url, headers=token("partner", subject=cid)), 403)

        assert (await client.delete(url, headers=operator)).status_code == 204
        assert_problem(await client.delete(url, headers=operator), 404)

        sub = await js.pull_subscribe("registry.partner_opt_in.changed.v1", durable=None)

        async def changes() -> list[dict[str, Any]] | None:
            try:
                messages = await sub.fetch(10, timeout=0.5)
            except TimeoutError:
                return None
            found.extend(json.loads(m.data)["payload"] for m in messages)
            return found if len(found) >= 2 else None

        found: list[dict[str, Any]] = []
        events = await eventually(changes)
        assert [(e["client_id"], e["opted_in"]) for e in events] == [(cid, True), (cid, False)]
        assert events[0]["changed_at"] < events[1]["changed_at"]

        log = ok(await client.get("/v1/access-log", headers=operator,
                                  params={"structure_id": structure["id"]}))  # fmt: skip
        assert [(e["action"], e["actor_subject"]) for e in log["items"]] == [
            ("opt_in.withdrawn", "operator-test"),
            ("opt_in.given", structure["id"]),
        ]
    finally:
        await nc.close()


async def test_unknown_structure_for_opt_in_is_404(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    partner = await new_client(client, operator)
    url = f"/v1/structures/{uuid.uuid4()}/partners/{partner['client_id']}"
    assert_problem(await client.put(url, headers=operator), 404)
