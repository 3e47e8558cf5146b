"""Every route of every service, against every kind of caller, from one table.

The routes come from the four apps' OpenAPI documents; each (service, method, path) must have a
row in ROUTES, so a new route without a row fails this suite. A row names a policy (who may
call) and the status each identity should get; the identities are real tokens against real
objects (structure A with its registration, an opt-in of structure A to partner P, a task of
auditor A), every app running in-process on this test's PostgreSQL and NATS.

Expected answers: 401 (no or bad token), 403 (the role or the scope is missing), 404 (another
tenant's object: it does not exist for this caller), `OK` (the caller passes: any answer below
500 but 401/403/404), `ANY` (passes authorisation, the object may not exist: below 500, not
401/403).
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from nats.js.api import ConsumerInfo

from barometer_cli.catalog import SERVICES
from shared.auth import Role, issue_token
from shared.settings import ServiceSettings
from tests.conftest import Infra
from tests.fieldwork.conftest import Fieldwork, fieldwork_app, registration_v2
from tests.helpers import eventually, running
from tests.registry.conftest import NANTES, new_edition, new_structure, ok

OK, ANY = "ok", "any"
IDENTITIES = (
    "anonymous", "expired", "forged",
    "partner_no_scope", "partner_no_opt_in", "partner",
    "auditor_b", "structure_b", "auditor", "structure", "operator",
)  # fmt: skip
ALL_SCOPES = ["surveys:write", "results:read", "barometer:read", "webhooks:manage"]


def policy(
    operator: str | int,
    auditor: str | int,
    auditor_b: str | int,
    structure: str | int,
    structure_b: str | int,
    partner_no_scope: str | int,
    partner_no_opt_in: str | int,
    partner: str | int,
    *,
    anonymous: str | int = 401,
) -> dict[str, str | int]:
    """What each identity gets; `auditor`/`structure` own the object, `*_b` do not."""
    return {
        "anonymous": anonymous, "expired": 401 if anonymous == 401 else anonymous,
        "forged": 401 if anonymous == 401 else anonymous,
        "operator": operator, "auditor": auditor, "auditor_b": auditor_b,
        "structure": structure, "structure_b": structure_b,
        "partner_no_scope": partner_no_scope, "partner_no_opt_in": partner_no_opt_in,
        "partner": partner,
    }  # fmt: skip


def everyone(answer: str | int) -> dict[str, str | int]:
    """A public route: the same answer for every caller, with or without a (bad) token."""
    return dict.fromkeys(IDENTITIES, answer)


# The policies of the table.
# The operator passes everywhere; whether the object exists is another matter (ANY).
OPERATOR = policy(ANY, 403, 403, 403, 403, 403, 403, 403)
SIGNED_IN = policy(OK, OK, OK, OK, OK, OK, OK, OK)  # reference data for every signed-in caller
OWN_STRUCTURE = policy(OK, 403, 403, OK, 404, 403, 403, 403)
OWN_TASK = policy(OK, OK, 404, 403, 403, 403, 403, 403)
AUDITOR_OWN_TASK = policy(403, OK, 404, 403, 403, 403, 403, 403)
AUDITOR_SELF = policy(403, OK, OK, 403, 403, 403, 403, 403)
# A submission's body is checked before the task is looked up: another auditor's empty body
# gets a 422 that says nothing about the task.
AUDITOR_SUBMISSION = policy(403, OK, 422, 403, 403, 403, 403, 403)
STRUCTURE_OWN_TASK = policy(403, 403, 403, OK, 404, 403, 403, 403)
# Citizen voice: a partner with `surveys:write`; a structure that did not opt in to it is refused
# like an unknown one (422 row error), not revealed.
VOICE = policy(OK, 403, 403, 403, 403, 403, 422, OK)
VOICE_BULK = policy(OK, 403, 403, 403, 403, 403, OK, OK)  # the refused row is listed in a 200
# Withdrawn by structure A first: the operator's second withdrawal finds nothing.
OWN_STRUCTURE_DELETE = policy(ANY, 403, 403, OK, 404, 403, 403, 403)
# A structure's results (reporting): nothing is released in this world, so every caller allowed
# by role and scope gets 404 as well (reporting's own tests read released results).
RESULTS = policy(ANY, 403, 403, ANY, 404, 403, 404, ANY)
PUBLISHED_OR_HIDDEN = everyone(ANY) | {"expired": 401, "forged": 401}  # barometer, laureates
ANONYMOUS_TOKEN_ENDPOINT = everyone(400)  # no credentials in the form: invalid_request
HEALTH = everyone(OK)
# Webhooks: a partner's own (scope `webhooks:manage`; not tied to a structure, so no opt-in
# needed); the operator reads every partner's but changes none. The ids here exist for nobody.
WEBHOOKS_WRITE = policy(403, 403, 403, 403, 403, 403, OK, OK)
WEBHOOKS_READ = policy(OK, 403, 403, 403, 403, 403, OK, OK)
WEBHOOK_WRITE = policy(403, 403, 403, 403, 403, 403, ANY, ANY)
WEBHOOK_READ = policy(ANY, 403, 403, 403, 403, 403, ANY, ANY)

E, S, R, T = "{edition_id}", "{structure_id}", "{registration_id}", "{task_id}"
ROUTES: dict[tuple[str, str, str], dict[str, str | int]] = {
    # --- registry ---
    ("registry", "GET", "/health/live"): HEALTH,
    ("registry", "GET", "/health/ready"): HEALTH,
    ("registry", "GET", "/metrics"): HEALTH,
    ("registry", "GET", "/.well-known/jwks.json"): HEALTH,
    ("registry", "POST", "/v1/oauth/token"): ANONYMOUS_TOKEN_ENDPOINT,
    ("registry", "GET", "/v1/territories/communes"): SIGNED_IN,
    ("registry", "GET", "/v1/territories/communes/{code}"): SIGNED_IN,
    ("registry", "GET", "/v1/territories/commune-parts"): SIGNED_IN,
    ("registry", "GET", "/v1/territories/epcis"): SIGNED_IN,
    ("registry", "GET", "/v1/territories/epcis/{siren}"): SIGNED_IN,
    ("registry", "GET", "/v1/territories/departements"): SIGNED_IN,
    ("registry", "GET", "/v1/territories/departements/{code}"): SIGNED_IN,
    ("registry", "GET", "/v1/territories/regions"): SIGNED_IN,
    ("registry", "GET", "/v1/territories/regions/{code}"): SIGNED_IN,
    ("registry", "POST", "/v1/territories/imports"): OPERATOR,
    ("registry", "GET", "/v1/territories/imports"): OPERATOR,
    ("registry", "POST", "/v1/territories/imports/upload"): OPERATOR,
    ("registry", "POST", "/v1/editions"): OPERATOR,
    ("registry", "GET", "/v1/editions"): OPERATOR,
    ("registry", "GET", f"/v1/editions/{E}"): OPERATOR,
    ("registry", "PATCH", f"/v1/editions/{E}"): OPERATOR,
    ("registry", "POST", f"/v1/editions/{E}/transitions"): OPERATOR,
    ("registry", "GET", f"/v1/editions/{E}/transitions"): OPERATOR,
    ("registry", "GET", f"/v1/editions/{E}/strata"): OPERATOR,
    ("registry", "PUT", f"/v1/editions/{E}/strata/rules"): OPERATOR,
    ("registry", "POST", f"/v1/editions/{E}/strata/rederive"): OPERATOR,
    ("registry", "GET", f"/v1/editions/{E}/strata/unmatched"): OPERATOR,
    ("registry", "GET", f"/v1/editions/{E}/offers"): policy(OK, 403, 403, OK, OK, 403, 403, 403),
    ("registry", "POST", "/v1/structures"): OPERATOR,
    ("registry", "GET", "/v1/structures"): OPERATOR,
    ("registry", "POST", "/v1/structures/import"): OPERATOR,
    ("registry", "GET", f"/v1/structures/{S}"): OWN_STRUCTURE,
    ("registry", "POST", f"/v1/structures/{S}/sites"): OPERATOR,
    ("registry", "POST", f"/v1/structures/{S}/certifications"): OPERATOR,
    ("registry", "POST", f"/v1/editions/{E}/registrations"): OWN_STRUCTURE,
    ("registry", "GET", f"/v1/editions/{E}/registrations"): OPERATOR,
    ("registry", "GET", f"/v1/editions/{E}/registrations/{R}"): OWN_STRUCTURE,
    ("registry", "PATCH", f"/v1/editions/{E}/registrations/{R}"): OPERATOR,
    ("registry", "GET", f"/v1/editions/{E}/registrations/{R}/quote"): OWN_STRUCTURE,
    ("registry", "POST", f"/v1/editions/{E}/registrations/{R}/accept"): OPERATOR,
    ("registry", "POST", f"/v1/editions/{E}/registrations/{R}/refuse"): OPERATOR,
    ("registry", "POST", f"/v1/editions/{E}/registrations/{R}/waitlist"): OPERATOR,
    ("registry", "POST", f"/v1/editions/{E}/registrations/{R}/withdraw"): OWN_STRUCTURE,
    ("registry", "POST", f"/v1/editions/{E}/registrations/bulk"): OPERATOR,
    ("registry", "POST", "/v1/clients"): OPERATOR,
    ("registry", "GET", "/v1/clients"): OPERATOR,
    ("registry", "GET", "/v1/clients/{client_id}"): OPERATOR,
    ("registry", "POST", "/v1/clients/{client_id}/rotate"): OPERATOR,
    ("registry", "POST", "/v1/clients/{client_id}/revoke"): OPERATOR,
    ("registry", "GET", f"/v1/structures/{S}/partners"): OWN_STRUCTURE,
    ("registry", "PUT", f"/v1/structures/{S}/partners/{{client_id}}"): OWN_STRUCTURE,
    ("registry", "DELETE", f"/v1/structures/{S}/partners/{{client_id}}"): OWN_STRUCTURE_DELETE,
    ("registry", "GET", "/v1/access-log"): OPERATOR,
    ("registry", "POST", "/v1/webhooks/subscriptions"): WEBHOOKS_WRITE,
    ("registry", "GET", "/v1/webhooks/subscriptions"): WEBHOOKS_READ,
    ("registry", "GET", "/v1/webhooks/subscriptions/{subscription_id}"): WEBHOOK_READ,
    ("registry", "DELETE", "/v1/webhooks/subscriptions/{subscription_id}"): WEBHOOK_WRITE,
    ("registry", "POST", "/v1/webhooks/subscriptions/{subscription_id}/rotate-secret"): (
        WEBHOOK_WRITE
    ),
    ("registry", "POST", "/v1/webhooks/subscriptions/{subscription_id}/resume"): WEBHOOK_WRITE,
    ("registry", "GET", "/v1/webhooks/deliveries"): WEBHOOKS_READ,
    ("registry", "GET", "/v1/webhooks/deliveries/{delivery_id}"): WEBHOOK_READ,
    ("registry", "POST", "/v1/webhooks/deliveries/{delivery_id}/replay"): WEBHOOK_WRITE,
    # --- fieldwork ---
    ("fieldwork", "GET", "/health/live"): HEALTH,
    ("fieldwork", "GET", "/health/ready"): HEALTH,
    ("fieldwork", "GET", "/metrics"): HEALTH,
    ("fieldwork", "GET", "/v1/grids"): policy(OK, OK, OK, 403, 403, 403, 403, 403),
    ("fieldwork", "GET", "/v1/grids/{code}/versions/{version}"): policy(
        ANY, ANY, ANY, 403, 403, 403, 403, 403
    ),
    ("fieldwork", "GET", f"/v1/editions/{E}/fieldwork-settings"): OPERATOR,
    ("fieldwork", "PATCH", f"/v1/editions/{E}/fieldwork-settings"): OPERATOR,
    ("fieldwork", "POST", f"/v1/editions/{E}/replan"): OPERATOR,
    ("fieldwork", "POST", f"/v1/editions/{E}/sites/{{site_id}}/replan"): OPERATOR,
    ("fieldwork", "GET", "/v1/auditors"): OPERATOR,
    ("fieldwork", "POST", "/v1/auditors"): OPERATOR,
    ("fieldwork", "GET", "/v1/auditors/{auditor_id}"): OPERATOR,
    ("fieldwork", "PATCH", "/v1/auditors/{auditor_id}"): OPERATOR,
    ("fieldwork", "POST", f"/v1/editions/{E}/auto-assignment"): OPERATOR,
    ("fieldwork", "POST", f"/v1/tasks/{T}/assign"): OPERATOR,
    ("fieldwork", "GET", f"/v1/editions/{E}/tasks"): OPERATOR,
    ("fieldwork", "GET", "/v1/me/tasks"): AUDITOR_SELF,
    ("fieldwork", "GET", f"/v1/tasks/{T}/history"): OPERATOR,
    ("fieldwork", "POST", f"/v1/tasks/{T}/start"): AUDITOR_OWN_TASK,
    ("fieldwork", "POST", f"/v1/tasks/{T}/return"): OPERATOR,
    ("fieldwork", "POST", f"/v1/tasks/{T}/cancel"): OPERATOR,
    ("fieldwork", "GET", f"/v1/tasks/{T}"): OWN_TASK,
    ("fieldwork", "POST", f"/v1/tasks/{T}/submission"): AUDITOR_SUBMISSION,
    ("fieldwork", "POST", f"/v1/tasks/{T}/validate"): OPERATOR,
    ("fieldwork", "POST", "/v1/me/submissions"): AUDITOR_SELF,  # an empty body: 422 for both
    ("fieldwork", "POST", f"/v1/editions/{E}/validations"): OPERATOR,
    ("fieldwork", "GET", f"/v1/editions/{E}/fieldwork-progress"): OPERATOR,
    ("fieldwork", "GET", f"/v1/editions/{E}/structures/{S}/audits"): OWN_STRUCTURE,
    ("fieldwork", "GET", f"/v1/editions/{E}/structures/{S}/appeals"): OWN_STRUCTURE,
    ("fieldwork", "POST", f"/v1/tasks/{T}/appeals"): STRUCTURE_OWN_TASK,
    ("fieldwork", "POST", "/v1/appeals/{appeal_id}/uphold"): OPERATOR,
    ("fieldwork", "POST", "/v1/appeals/{appeal_id}/reject"): OPERATOR,
    ("fieldwork", "POST", "/v1/voice/{kind}"): VOICE,
    ("fieldwork", "POST", "/v1/voice/{kind}/bulk"): VOICE_BULK,
    # --- scoring (operator only; every figure there is per structure or internal) ---
    ("scoring", "GET", "/health/live"): HEALTH,
    ("scoring", "GET", "/health/ready"): HEALTH,
    ("scoring", "GET", "/metrics"): HEALTH,
    ("scoring", "GET", f"/v1/editions/{E}/audits"): OPERATOR,
    ("scoring", "GET", f"/v1/editions/{E}/audits/{{audit_id}}/score"): OPERATOR,
    ("scoring", "GET", f"/v1/editions/{E}/structures/{S}/audit-scores"): OPERATOR,
    ("scoring", "GET", f"/v1/editions/{E}/structures"): OPERATOR,
    ("scoring", "GET", f"/v1/editions/{E}/structures/{S}"): OPERATOR,
    ("scoring", "GET", f"/v1/editions/{E}/groups"): OPERATOR,
    ("scoring", "GET", f"/v1/editions/{E}/settings"): OPERATOR,
    ("scoring", "PUT", f"/v1/editions/{E}/settings"): OPERATOR,
    ("scoring", "POST", f"/v1/editions/{E}/rescore"): OPERATOR,
    ("scoring", "GET", f"/v1/editions/{E}/rescore"): OPERATOR,
    ("scoring", "GET", f"/v1/editions/{E}/perceived-quality"): OPERATOR,
    ("scoring", "GET", "/v1/grids"): OPERATOR,
    ("scoring", "GET", "/v1/dead-letters"): OPERATOR,
    ("scoring", "POST", "/v1/dead-letters/{dead_letter_id}/replay"): OPERATOR,
    ("scoring", "GET", "/v1/access-log"): OPERATOR,
    # --- reporting ---
    ("reporting", "GET", "/health/live"): HEALTH,
    ("reporting", "GET", "/health/ready"): HEALTH,
    ("reporting", "GET", "/metrics"): HEALTH,
    ("reporting", "GET", f"/v1/editions/{E}/structures/{S}/scorecard"): RESULTS,
    ("reporting", "GET", f"/v1/editions/{E}/structures/{S}/report"): RESULTS,
    ("reporting", "GET", f"/v1/editions/{E}/structures/{S}/report.html"): RESULTS,
    ("reporting", "GET", f"/v1/editions/{E}/structures/{S}/report.pdf"): RESULTS,
    ("reporting", "GET", f"/v1/editions/{E}/barometer"): PUBLISHED_OR_HIDDEN,
    ("reporting", "GET", f"/v1/editions/{E}/laureates"): PUBLISHED_OR_HIDDEN,
    ("reporting", "POST", f"/v1/editions/{E}/laureates/publish"): OPERATOR,
    ("reporting", "GET", f"/v1/editions/{E}/exports/scorecards.csv"): OPERATOR,
    ("reporting", "GET", f"/v1/editions/{E}/exports/scorecards.xlsx"): OPERATOR,
    ("reporting", "GET", f"/v1/editions/{E}/reporting-settings"): OPERATOR,
    ("reporting", "PUT", f"/v1/editions/{E}/reporting-settings"): OPERATOR,
    ("reporting", "GET", "/v1/access-log"): OPERATOR,
}
# Identities run in this order so that the owners' and the operator's changes (a withdrawal, a
# cancelled task) come after every refusal was checked on the untouched object.
ORDER = IDENTITIES
# Services in this order: the registry's opt-in withdrawal (by structure A) comes last.
SERVICE_ORDER = ("fieldwork", "reporting", "scoring", "registry")


def operations(app: Any) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, methods in app.openapi()["paths"].items()
        for method in methods
    ]


def test_every_route_has_a_row(make_settings: Any) -> None:
    """Without a database: the table and the apps' routes are the same set."""
    found = set()
    for spec in SERVICES:
        module = importlib.import_module(f"services.{spec.name}.app")
        app = module.create_app(make_settings(spec.name))
        found |= {(spec.name, method, path) for method, path in operations(app)}
    assert sorted(found - ROUTES.keys()) == [], "routes without a row in ROUTES"
    assert sorted(ROUTES.keys() - found) == [], "rows for routes that do not exist"


class World:
    """Real objects and a token per identity."""

    def __init__(self, infra: Infra, tmp: Any) -> None:
        dev = ServiceSettings(environment="test", data_dir=infra.data_dir)
        stranger = ServiceSettings(environment="test", data_dir=tmp)
        self._dev, self._stranger = dev, stranger
        self.params: dict[str, str] = {}
        self.bodies: dict[tuple[str, str, str], Any] = {}
        self.tokens: dict[str, str | None] = {}
        self.params_by_service: dict[str, dict[str, str]] = {}

    def sign(self, identity: str, role: Role, subject: str, scopes: list[str] | None = None,
             **kwargs: Any) -> None:  # fmt: skip
        settings = self._stranger if identity == "forged" else self._dev
        self.tokens[identity] = issue_token(
            settings, role=role, subject=subject, scopes=scopes, **kwargs
        )

    def headers(self, identity: str) -> dict[str, str]:
        value = self.tokens.get(identity)
        return {"Authorization": f"Bearer {value}"} if value else {}


@asynccontextmanager
async def four_services(
    make_settings: Any, token: Any, nats_url: str
) -> AsyncIterator[tuple[dict[str, httpx.AsyncClient], Fieldwork]]:
    async with AsyncExitStack() as stack:
        clients: dict[str, httpx.AsyncClient] = {}
        fw = await stack.enter_async_context(
            fieldwork_app(make_settings("fieldwork"), token, nats_url)
        )
        clients["fieldwork"] = fw.client
        for name in ("registry", "scoring", "reporting"):
            module = importlib.import_module(f"services.{name}.app")
            clients[name] = await stack.enter_async_context(
                running(module.create_app(make_settings(name)))
            )
        yield clients, fw


async def build_world(
    world: World, clients: dict[str, httpx.AsyncClient], fw: Fieldwork, operator: dict[str, str]
) -> None:
    registry = clients["registry"]
    edition = await new_edition(registry, operator)
    structure_a = await new_structure(registry, operator)
    structure_b = await new_structure(registry, operator, name="Mairie de Rezé",
                                      commune_code="44143", siren=None)  # fmt: skip
    a, b = structure_a["id"], structure_b["id"]
    partner = ok(await registry.post("/v1/clients", headers=operator,
                                     json={"name": "Civiliz", "scopes": ALL_SCOPES}), 201)  # fmt: skip
    p = partner["client_id"]
    own = {"Authorization": f"Bearer {issue_token(world._dev, role=Role.STRUCTURE, subject=a)}"}
    registration = ok(await registry.post(f"/v1/editions/{edition['id']}/registrations",
                                          headers=own, json={"structure_id": a}), 201)  # fmt: skip
    ok(await registry.put(f"/v1/structures/{a}/partners/{p}", headers=own))

    # Fieldwork: structure A planned in its own edition, one task assigned to auditor A.
    fw_edition, site = uuid.uuid4(), uuid.uuid4()
    await fw.publish(registration_v2(fw_edition, uuid.UUID(a), [site]))
    tasks = await fw.planned(fw_edition, 13)
    auditor_a = await fw.auditor("alpha")
    auditor_b = await fw.auditor("bravo")
    task = tasks[0]
    await fw.call("POST", f"/v1/tasks/{task['id']}/assign", json={"auditor_id": auditor_a})

    async def opted_in() -> bool:  # the registry's event reached fieldwork
        info: ConsumerInfo = await fw.js.consumer_info("REGISTRY", "fieldwork-opt-ins")
        assert info.delivered is not None
        return info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.stream_seq > 0

    await eventually(opted_in)

    world.sign("expired", Role.OPERATOR, "operator-x", ttl=timedelta(seconds=-60))
    world.sign("forged", Role.OPERATOR, "operator-x")
    world.sign("operator", Role.OPERATOR, "operator-x")
    world.sign("auditor", Role.AUDITOR, auditor_a)
    world.sign("auditor_b", Role.AUDITOR, auditor_b)
    world.sign("structure", Role.STRUCTURE, a)
    world.sign("structure_b", Role.STRUCTURE, b)
    world.sign("partner_no_scope", Role.PARTNER, p, [])
    world.sign("partner_no_opt_in", Role.PARTNER, "cl_stranger", ALL_SCOPES)
    world.sign("partner", Role.PARTNER, p, ALL_SCOPES)
    world.params = {
        "code": "44", "siren": "244400404", "client_id": p, "structure_id": a,
        "registration_id": registration["id"], "task_id": task["id"], "auditor_id": auditor_a,
        "site_id": str(site), "appeal_id": str(uuid.uuid4()), "audit_id": str(uuid.uuid4()),
        "dead_letter_id": "1", "kind": "kiosk_feedback", "version": "1",
        "subscription_id": str(uuid.uuid4()), "delivery_id": str(uuid.uuid4()),
    }  # fmt: skip
    editions = {"registry": edition["id"], "fieldwork": str(fw_edition)}
    world.params_by_service = {
        name: {**world.params, "edition_id": editions.get(name, str(fw_edition))}
        for name in ("registry", "fieldwork", "scoring", "reporting")
    }
    voice = {"edition_id": str(fw_edition), "structure_id": a,
             "received_at": "2017-10-02T09:15:00+02:00", "satisfied": True}  # fmt: skip
    world.bodies = {
        ("fieldwork", "POST", "/v1/voice/{kind}"): voice,
        ("fieldwork", "POST", "/v1/tasks/{task_id}/appeals"): {"item_code": "x", "reason": "y"},
        ("registry", "POST", f"/v1/editions/{E}/registrations"): {"structure_id": a},
        ("registry", "POST", f"/v1/editions/{E}/registrations/{R}/withdraw"): {"reason": "r"},
    }


# Territory codes per kind (Nantes, its EPCI, Loire-Atlantique, Pays de la Loire).
CODES = {"communes": NANTES, "epcis": "244400404", "departements": "44", "regions": "52",
         "grids": "email"}  # fmt: skip


def _concrete(path: str, params: dict[str, str]) -> str:
    kind = next((k for k in CODES if f"/{k}/" in path), None)
    if kind is not None:
        params = {**params, "code": CODES[kind], "siren": CODES["epcis"]}
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, path
    return path


def _meets(expected: str | int, status: int) -> bool:
    if status >= 500:
        return False
    if expected == OK:
        return status not in (401, 403, 404)
    if expected == ANY:
        return status not in (401, 403)
    return status == expected


async def call(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], body: Any,
    route: tuple[str, str, str],
) -> httpx.Response:  # fmt: skip
    if route[2].endswith("/bulk"):
        line = b"" if body is None else httpx.Request("POST", "/", json=body).content
        return await client.request(method, path, content=line,
                                    headers={**headers, "Content-Type": "application/x-ndjson"})  # fmt: skip
    if route[2] == "/v1/oauth/token":
        return await client.request(method, path, headers=headers)
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        return await client.request(method, path, headers=headers, json=body or {})
    return await client.request(method, path, headers=headers)


@pytest.mark.timeout(600)
async def test_every_route_answers_every_identity_as_its_row_says(
    infra: Infra, make_settings: Any, token: Any, nats_url: str, tmp_path: Any
) -> None:
    world = World(infra, tmp_path)
    async with four_services(make_settings, token, nats_url) as (clients, fw):
        await build_world(world, clients, fw, token("operator"))
        wrong: list[str] = []
        rows = sorted(ROUTES.items(), key=lambda r: SERVICE_ORDER.index(r[0][0]))
        for route, expected in rows:
            service, method, template = route
            path = _concrete(template, world.params_by_service[service])
            bulk_body = world.bodies.get((service, "POST", "/v1/voice/{kind}"))
            body = world.bodies.get(route, bulk_body if template.endswith("/bulk") else None)
            for identity in ORDER:
                r = await call(clients[service], method, path, world.headers(identity), body,
                               route)  # fmt: skip
                if not _meets(expected[identity], r.status_code):
                    wrong.append(f"{service} {method} {template} as {identity}: "
                                 f"{r.status_code}, expected {expected[identity]} ({r.text[:120]})")  # fmt: skip
                if r.status_code == 401:
                    assert r.headers["www-authenticate"].startswith("Bearer") or route[2] == (
                        "/v1/oauth/token"
                    ), route
        assert wrong == [], "\n".join(wrong)
