"""Conventions every service keeps: paths under /v1, auth on every route, problem+json errors,
health and metrics."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import Integer, bindparam, func, select

from barometer_cli.catalog import SERVICES
from barometer_cli.embedded import free_port
from services.scoring.models import tables as scoring_tables
from shared.app import SessionDep, create_service_app
from tests.helpers import running

# The registry's keys and its token endpoint (the client authenticates with its secret) take no
# bearer token.
PUBLIC = {"/health/live", "/health/ready", "/metrics", "/.well-known/jwks.json", "/v1/oauth/token"}


def build(service: str, make_settings: Any) -> FastAPI:
    app: FastAPI = importlib.import_module(f"services.{service}.app").create_app(
        make_settings(service)
    )
    return app


def api_operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in app.openapi()["paths"].items()
        if path not in PUBLIC
        for method, operation in methods.items()
    ]


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
async def test_every_api_route_is_versioned_and_authenticated(
    service: str, make_settings: Any
) -> None:
    operations = api_operations(build(service, make_settings))
    assert operations, "a service exposes at least one /v1 route"
    for path, method, operation in operations:
        assert path.startswith("/v1/"), path
        assert operation.get("security") == [{"HTTPBearer": []}], (
            f"{method} {path} declares no auth"
        )


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
async def test_health_metrics_and_auth_errors(service: str, make_settings: Any, token: Any) -> None:
    app = build(service, make_settings)
    path = next(p for p, m, _ in api_operations(app) if m == "get")
    path = path.replace("{", "").replace("}", "")  # placeholder ids are fine before auth
    async with running(app) as client:
        assert (await client.get("/health/live")).status_code == 200
        ready = await client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "nats": "ok"}
        metrics = await client.get("/metrics")
        assert "http_requests_total" in metrics.text

        anonymous = await client.get(path)
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert anonymous.json()["type"].endswith("/unauthorized")

        forged = await client.get(path, headers={"Authorization": "Bearer not.a.token"})
        assert forged.status_code == 401

        unknown = await client.get("/v1/nothing-here", headers=token("operator"))
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        assert unknown.headers["x-request-id"]


async def test_a_token_signed_by_another_key_is_refused(make_settings: Any, tmp_path: Any) -> None:
    from shared.auth import Role, issue_token
    from shared.settings import ServiceSettings

    app = build("reporting", make_settings)
    stranger = issue_token(ServiceSettings(data_dir=tmp_path), role=Role.OPERATOR, subject="x")
    async with running(app) as client:
        response = await client.get(
            "/v1/editions/00000000-0000-0000-0000-000000000000/structures/00000000-0000-0000-0000-000000000000/scorecard",
            headers={"Authorization": f"Bearer {stranger}"},
        )
    assert response.status_code == 401
    assert "invalid bearer token" in response.json()["detail"]


async def test_wrong_role_and_bad_ids_are_4xx_problems(make_settings: Any, token: Any) -> None:
    app = build("scoring", make_settings)
    async with running(app) as client:
        base = "/v1/editions/00000000-0000-0000-0000-000000000001/audits"
        as_auditor = await client.get(
            f"{base}/00000000-0000-0000-0000-000000000002/score", headers=token("auditor")
        )
        assert as_auditor.status_code == 403
        assert as_auditor.headers["content-type"] == "application/problem+json"
        not_uuid = await client.get(f"{base}/not-a-uuid/score", headers=token("operator"))
        assert not_uuid.status_code == 422
        assert not_uuid.json()["errors"][0]["location"] == "path.audit_id"
        missing = await client.get(
            f"{base}/00000000-0000-0000-0000-000000000002/score", headers=token("operator")
        )
        assert missing.status_code == 404
        assert missing.json()["type"].endswith("/not-found")


probe_router = APIRouter()


@probe_router.get("/probe/{number}")
async def probe(number: int, session: SessionDep) -> dict[str, int]:
    value = await session.scalar(select(func.abs(bindparam("n", number, type_=Integer))))
    return {"value": int(value or 0)}


async def test_a_value_the_database_cannot_store_is_a_422_not_a_500(make_settings: Any) -> None:
    """Safety net behind the schemas' bounds: the driver's DataError becomes a problem."""
    app = create_service_app(
        settings=make_settings("scoring"),
        title="t",
        description="t",
        tables=scoring_tables,
        routers=[probe_router],
    )
    async with running(app) as client:
        assert (await client.get("/v1/probe/-5")).json() == {"value": 5}
        response = await client.get(f"/v1/probe/{10**12}")
    assert response.status_code == 422
    assert response.json()["type"].endswith("/value-out-of-range")


failing_router = APIRouter()


@failing_router.get("/disk")
async def disk(session: SessionDep) -> dict[str, str]:
    raise OSError("No space left on device")


@failing_router.get("/rows")
async def rows(session: SessionDep) -> dict[str, int]:
    return {"n": int(await session.scalar(select(func.count())) or 0)}


async def test_only_a_lost_database_is_a_503_and_readiness_ignores_nats(
    make_settings: Any, token: Any
) -> None:
    def app_with(**overrides: Any) -> FastAPI:
        return create_service_app(settings=make_settings("scoring", **overrides), title="t",
                                  description="t", tables=scoring_tables, routers=[failing_router])  # fmt: skip

    async with running(app_with()) as client:
        other = await client.get("/v1/disk")
        assert other.status_code == 500  # not a database: no misleading "retry later"
        assert other.headers["content-type"] == "application/problem+json"

    lost = app_with(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    async with running(lost) as client:
        response = await client.get("/v1/rows")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "unreachable"

    no_nats = app_with(nats_url=f"nats://127.0.0.1:{free_port()}")
    async with running(no_nats, with_nats=False) as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 200  # the outbox keeps writes going without NATS
        assert ready.json()["checks"] == {"database": "ok", "nats": "unreachable"}
        live = await client.get("/health/live")
        assert live.json()["checks"]["nats"] == "unreachable"
