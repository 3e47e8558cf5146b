"""CORS for the separate frontend: allowed origins as a setting (none by default outside
development, any localhost origin in development), preflights answered, never `*` with
credentials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from services.registry.app import create_app
from services.registry.settings import RegistrySettings
from tests.helpers import running

FRONTEND = "https://app.barometre.example"


async def preflight(client: httpx.AsyncClient, origin: str) -> httpx.Response:
    return await client.options(
        "/v1/editions",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )


async def test_an_allowed_origin_gets_its_preflight_and_others_do_not(
    make_settings: Any, token: Callable[..., dict[str, str]]
) -> None:
    app = create_app(make_settings("registry", cors_allowed_origins=[FRONTEND]))
    async with running(app) as client:
        allowed = await preflight(client, FRONTEND)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == FRONTEND
        assert "POST" in allowed.headers["access-control-allow-methods"]
        granted = allowed.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "idempotency-key"} <= {
            h.strip() for h in granted.split(",")
        }
        assert "access-control-allow-credentials" not in allowed.headers

        stranger = await preflight(client, "https://elsewhere.example")
        assert "access-control-allow-origin" not in stranger.headers

        # Actual requests: labelled for the frontend (errors too, so it can read them).
        read = await client.get("/v1/editions", headers={"Origin": FRONTEND, **token("operator")})
        assert read.status_code == 200
        assert read.headers["access-control-allow-origin"] == FRONTEND
        assert "x-request-id" in read.headers["access-control-expose-headers"].lower()
        refused = await client.get("/v1/editions", headers={"Origin": FRONTEND})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == FRONTEND
        foreign = await client.get("/v1/editions", headers={"Origin": "https://elsewhere.example",
                                                            **token("operator")})  # fmt: skip
        assert "access-control-allow-origin" not in foreign.headers


async def test_no_origin_is_allowed_by_default_outside_development(make_settings: Any) -> None:
    app = create_app(make_settings("registry"))  # environment "test"
    async with running(app) as client:
        response = await preflight(client, FRONTEND)
    assert "access-control-allow-origin" not in response.headers


async def test_development_allows_localhost_origins(make_settings: Any) -> None:
    app = create_app(make_settings("registry", environment="dev"))
    async with running(app) as client:
        local = await preflight(client, "http://localhost:5173")
        assert local.status_code == 200
        assert local.headers["access-control-allow-origin"] == "http://localhost:5173"
        loopback = await preflight(client, "http://127.0.0.1:3000")
        assert loopback.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"
        lookalike = await preflight(client, "http://localhost.elsewhere.example")
        assert "access-control-allow-origin" not in lookalike.headers


def test_origins_from_the_environment_and_no_wildcard_with_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f"{FRONTEND}, https://admin.barometre.example")
    assert RegistrySettings(environment="test").cors_allowed_origins == [
        FRONTEND,
        "https://admin.barometre.example",
    ]
    monkeypatch.setenv("REGISTRY_CORS_ALLOWED_ORIGINS", f'["{FRONTEND}"]')
    assert RegistrySettings(environment="test").cors_allowed_origins == [FRONTEND]
    with pytest.raises(ValidationError, match="credentials"):
        RegistrySettings(environment="test", cors_allowed_origins=["*"],
                         cors_allow_credentials=True)  # fmt: skip
    wildcard = RegistrySettings(environment="test", cors_allowed_origins=["*"])
    assert wildcard.cors_allowed_origins == ["*"]
    assert not wildcard.cors_allow_credentials
