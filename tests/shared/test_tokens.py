"""Tokens: the registry's keys published as JWKS and followed by the other services without a
restart (a new key accepted, a removed key refused), a maximum lifetime, no default key in prod."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.fieldwork.app import create_app as fieldwork_app
from services.fieldwork.settings import FieldworkSettings
from services.registry.app import create_app as registry_app
from services.registry.settings import RegistrySettings
from shared.auth import Role, issue_token
from shared.settings import ServiceSettings
from tests.helpers import running


def write_key(folder: Path, name: str) -> Path:
    key = Ed25519PrivateKey.generate()
    path = folder / name
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


async def partner_token(registry: httpx.AsyncClient, client_id: str, secret: str) -> str:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    r = await registry.post(
        "/v1/oauth/token",
        content="grant_type=client_credentials",
        headers={"Authorization": f"Basic {raw}",
                 "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def test_key_rotation_without_restart(make_settings: Any, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    write_key(keys, "2026-01.pem")
    fast = {"jwt_keys_reload_seconds": 0, "jwt_jwks_cache_seconds": 0,
            "jwt_jwks_refetch_seconds": 0}  # fmt: skip
    registry = registry_app(make_settings("registry", jwt_private_key=str(keys), **fast))
    fieldwork = fieldwork_app(
        make_settings("fieldwork", jwt_jwks_url="http://registry/.well-known/jwks.json", **fast)
    )
    # Fieldwork fetches the registry's JWKS over HTTP (here, the registry app in-process).
    verifier = fieldwork.state.token_verifier
    verifier.keys.http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=registry), base_url="http://registry"
    )
    registry_settings = RegistrySettings(
        environment="test", data_dir=tmp_path, jwt_private_key=str(keys)
    )
    operator = {"Authorization": "Bearer " + issue_token(
        registry_settings, role=Role.OPERATOR, subject="op", ttl=timedelta(hours=1))}  # fmt: skip
    try:
        async with running(registry) as reg, running(fieldwork) as fw:
            created = await reg.post(
                "/v1/clients", headers=operator,
                json={"name": "Kiosk", "scopes": ["surveys:write"]},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            cid, secret = created.json()["client_id"], created.json()["client_secret"]
            first = await partner_token(reg, cid, secret)
            bearer = {"Authorization": f"Bearer {first}"}
            # Accepted by fieldwork: past authentication, it is the scope that decides.
            assert (await fw.get("/v1/grids", headers=bearer)).status_code == 403

            write_key(keys, "2026-02.pem")  # the newest name signs from now on
            second = await partner_token(reg, cid, secret)
            assert second.split(".")[0] != first.split(".")[0]  # another kid
            jwks = (await reg.get("/.well-known/jwks.json")).json()
            assert len(jwks["keys"]) == 2
            for token in (first, second):
                auth = {"Authorization": f"Bearer {token}"}
                assert (await fw.get("/v1/grids", headers=auth)).status_code == 403

            (keys / "2026-01.pem").unlink()  # the old key is withdrawn
            assert len((await reg.get("/.well-known/jwks.json")).json()["keys"]) == 1
            refused = await fw.get("/v1/grids", headers=bearer)
            assert refused.status_code == 401
            assert "unknown signing key" in refused.json()["detail"]
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert 'error="invalid_token"' in refused.headers["www-authenticate"]
            assert (await reg.get("/v1/clients", headers=bearer)).status_code == 401
            second_auth = {"Authorization": f"Bearer {second}"}
            assert (await fw.get("/v1/grids", headers=second_auth)).status_code == 403
    finally:
        await verifier.keys.http.aclose()


async def test_a_token_living_longer_than_the_maximum_is_refused(
    make_settings: Any, infra: Any
) -> None:
    app = fieldwork_app(make_settings("fieldwork", jwt_max_lifetime_seconds=3600))
    dev = ServiceSettings(environment="test", data_dir=infra.data_dir)
    century = issue_token(dev, role=Role.OPERATOR, subject="op", ttl=timedelta(days=36500))
    hour = issue_token(dev, role=Role.OPERATOR, subject="op", ttl=timedelta(hours=1))
    expired = issue_token(dev, role=Role.OPERATOR, subject="op", ttl=timedelta(seconds=-5))
    async with running(app) as client:
        r = await client.get("/v1/grids", headers={"Authorization": f"Bearer {century}"})
        assert r.status_code == 401
        assert "more than the 3600 s" in r.json()["detail"]
        r = await client.post("/v1/auditors", json={},
                              headers={"Authorization": f"Bearer {century}"})  # fmt: skip
        assert r.status_code == 401  # refused before the body is read, too
        r = await client.get("/v1/grids", headers={"Authorization": f"Bearer {expired}"})
        assert r.status_code == 401
        assert (await client.get("/v1/grids", headers={"Authorization": f"Bearer {hour}"})).status_code == 200  # fmt: skip


def test_prod_refuses_to_start_without_keys(tmp_path: Path) -> None:
    """A service refuses to serve (`create_service_app` calls `require_serving_settings`) in
    prod without its keys; one-shot commands (migrate, nats setup) need none."""
    infra: dict[str, Any] = {
        "environment": "prod",
        "database_url": "postgresql://db/x",
        "nats_url": "nats://n",
    }
    with pytest.raises(ValueError, match="jwt_private_key"):
        RegistrySettings(**infra).require_serving_settings()
    with pytest.raises(ValueError, match="jwt_jwks_url or jwt_public_key"):
        FieldworkSettings(**infra).require_serving_settings()
    key = write_key(tmp_path, "k.pem")
    RegistrySettings(**infra, jwt_private_key=str(key)).require_serving_settings()
    jwks = "https://registry/.well-known/jwks.json"
    FieldworkSettings(**infra, jwt_jwks_url=jwks).require_serving_settings()
